//! A chat server: every line a client sends goes to every other client.
//!
//! The protocol is lines of UTF-8 text ending in `\n`:
//!
//! * on connecting, a client gets `welcome <name>\n`, its name being
//!   `guest<N>`, and the others get `* <name> joined\n`;
//! * `/nick NAME` renames it (1 to 32 letters, digits, `-` or `_`); another
//!   name gets `* <reason>\n` back, and the name stays;
//! * every other line goes to every *other* client as `<name>: <line>\n`,
//!   its control characters (a terminal's escape sequences) as U+FFFD;
//! * when it leaves, the others get `* <name> left\n`;
//! * a line over 4 KiB gets `* <reason>\n` and the connection closes.
//!
//! ```text
//! cargo run --example chat                       # listens on 127.0.0.1:7014
//! nc 127.0.0.1 7014                              # in two terminals: type lines
//! cargo run --example chat -- --mode event       # the same handler on event loops
//! ```
//!
//! The handler is written once, in the buffer shape (`&mut Conn`), and runs
//! under `--mode threading` (the default: a thread per client, a line for
//! another client written by the sender's thread), `--mode event` (event
//! loops, a line for another client queued to it) and `--mode pool` (the
//! clients wait on one loop, their lines are handled on a few threads).
//! A client that takes nothing of what is sent to it does not hold the
//! others: under `threading` it is closed once it has taken nothing for 5 s
//! (or `--timeout`), under `event` and `pool` once 4 MiB wait for it.
//! Ctrl-C or SIGTERM stops the server cleanly. `RUST_LOG=debug` logs every
//! connection.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, handle, hook, server};
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest line, its `\n` included.
const MAX_LINE: usize = 4096;
/// The longest name.
const MAX_NAME: usize = 32;

/// Chat server: each line a client sends goes to every other client.
///
/// On connecting a client gets `welcome <name>`; `/nick NAME` renames it;
/// every other line goes to the others as `<name>: <line>`; joins and leaves
/// are announced as `* <name> joined` and `* <name> left`.
#[derive(Parser, Debug)]
#[command(version, after_help = "Try it: nc 127.0.0.1 7014 (in two terminals)")]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7014")]
    addr: String,

    #[command(flatten)]
    options: common::Options,
}

/// The server: what every connection shares is the count of guests so far.
#[server(transport = "tcp", concurrency = "threading", conn = "Member")]
#[derive(Debug, Default)]
struct Chat {
    guests: AtomicU64,
}

/// What each connection keeps: its name.
#[derive(Debug, Default)]
struct Member {
    name: String,
}

impl Chat {
    #[hook]
    fn setup(&self, conn: &mut Conn<Member>) -> io::Result<()> {
        let name = format!("guest{}", self.guests.fetch_add(1, Ordering::Relaxed) + 1);
        log::debug!("{} joined as {name}", conn.client_address());
        writeln!(conn.output(), "welcome {name}")?;
        conn.broadcast(format!("* {name} joined\n").as_bytes());
        conn.state().name = name;
        Ok(())
    }

    /// Called with what has come: each whole line is a message or a command.
    #[handle]
    fn handle(&self, conn: &mut Conn<Member>) -> io::Result<()> {
        loop {
            let line = match conn.input().line(MAX_LINE) {
                // Control characters (a terminal's escape sequences) would
                // reach the others' terminals: each goes as U+FFFD.
                Ok(Some(line)) => String::from_utf8_lossy(line)
                    .trim_end_matches(['\n', '\r'])
                    .chars()
                    .map(|c| {
                        if c.is_control() && c != '\t' {
                            '\u{FFFD}'
                        } else {
                            c
                        }
                    })
                    .collect::<String>(),
                Ok(None) => return Ok(()),
                Err(e) => {
                    // Said to the client too, then the connection closes.
                    writeln!(conn.output(), "* {e}")?;
                    return Err(e);
                }
            };
            match line.strip_prefix("/nick ") {
                Some(name) => rename(conn, name.trim())?,
                None => {
                    let message = format!("{}: {line}\n", conn.state().name);
                    conn.broadcast(message.as_bytes());
                }
            }
        }
    }

    #[hook]
    fn finish(&self, conn: &mut Conn<Member>) -> io::Result<()> {
        let left = format!("* {} left\n", conn.state().name);
        log::debug!("{}", left.trim_end());
        conn.broadcast(left.as_bytes());
        Ok(())
    }
}

/// `/nick NAME`: takes the name if it is one, else says why not.
fn rename(conn: &mut Conn<Member>, name: &str) -> io::Result<()> {
    let valid = (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return writeln!(
            conn.output(),
            "* a name is 1 to {MAX_NAME} letters, digits, '-' or '_'"
        );
    }
    log::debug!("{} is now {name}", conn.state().name);
    conn.state().name = name.to_owned();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    if !matches!(
        cli.options.mode,
        common::Mode::Threading | common::Mode::Event | common::Mode::Pool
    ) {
        log::error!(
            "chat runs under `--mode threading`, `event` or `pool` only: `sync` serves one \
             client at a time, and `forking` each in a process of its own, apart from the others"
        );
        return ExitCode::FAILURE;
    }
    common::serve_all(&cli.addr, &cli.options, Chat::default().builder())
}
