//! An echo server on a Unix stream socket: every byte a client sends comes
//! back to it, unchanged.
//!
//! The protocol is raw bytes over a Unix stream socket, with no framing:
//! whatever arrives on a connection is written back on it as it comes, binary
//! data included, until the client closes its side; then the server closes the
//! connection too.
//!
//! ```text
//! cargo run --example unix_echo           # listens on /tmp/socketserver-unix-echo.sock
//! nc -U /tmp/socketserver-unix-echo.sock  # type lines: they come back
//! cargo run --example unix_echo -- --path ./echo.sock --mode sync
//! ```
//!
//! A socket file left at the path by an echo server that was killed is
//! removed at start; a path where a server still listens is refused. The
//! server removes its socket file when it stops. On Linux, a path starting
//! with `@` is an abstract name (`--path @echo`), which leaves no file.
//!
//! `--mode threading` (the default) serves each client on a thread of its own;
//! `--mode sync` serves one client at a time; `--mode event` serves them all
//! on event loops. Ctrl-C or SIGTERM stops the
//! server cleanly, within about two seconds even when clients are still
//! connected. `RUST_LOG=debug` logs every connection.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, handle, hook, server};
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

/// Unix stream socket echo server: every byte a client sends is sent back to
/// it unchanged.
///
/// The protocol is raw bytes with no framing: whatever arrives on a connection,
/// binary data included, is written back as it arrives, until the client closes
/// its side of the connection; then the server closes the connection too.
#[derive(Parser, Debug)]
#[command(version, after_help = "Try it: nc -U /tmp/socketserver-unix-echo.sock")]
struct Cli {
    /// Path of the socket file to listen on. A stale one (left by a server that
    /// is gone) is replaced; a live server's is refused. Removed at exit. On
    /// Linux, `@NAME` is the abstract socket name NAME (no file).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/tmp/socketserver-unix-echo.sock"
    )]
    path: String,

    #[command(flatten)]
    options: common::Options,
}

/// The echo service: stateless, so one value serves every connection. It
/// is buffer-shaped (see the `echo` example), so it runs in every mode.
#[server(transport = "unix", concurrency = "threading", conn = "()")]
#[derive(Debug)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, conn: &mut Conn<(), UnixStream>) -> io::Result<()> {
        let (input, output, ()) = conn.parts();
        output.write_all(input.bytes())?;
        let n = input.bytes().len();
        input.consume(n);
        Ok(())
    }

    #[hook]
    fn setup(&self, conn: &mut Conn<(), UnixStream>) -> io::Result<()> {
        // Clients' sockets are seldom bound: their address is mostly unnamed.
        log::debug!("{:?} connected", conn.client_address());
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    // `@NAME` as `ss` shows abstract names; the runtime takes them as Python
    // does, with a leading NUL byte.
    let path = match cli.path.strip_prefix('@') {
        Some(name) => format!("\0{name}"),
        None => cli.path,
    };
    common::serve_all(&path, &cli.options, Echo.builder())
}
