//! Remote command execution, safe by default: clients run allow-listed
//! programs, without a shell, with a time limit and an output cap.
//!
//! The protocol, on TCP, in frames of a 4-byte big-endian length and then
//! that many bytes:
//!
//! * a request frame is a UTF-8 command line, split into arguments on white
//!   space (no shell: no quoting, no `|`, `;`, `$`, globbing);
//! * the program (a bare name, not a path) runs only if it is in `--allow`
//!   (default: `echo,date,uname,ls`), for at most `--timeout` seconds,
//!   with its output capped at `--max-output` bytes;
//! * the reply frame is `<exit code>\n` followed by the program's standard
//!   output and standard error, interleaved as it wrote them. A refused
//!   command gets 126 and the reason; a program that cannot be found, 127;
//!   one killed at the time limit (with every process it started), 124;
//!   output past the cap is cut, and the reply says so on its last line.
//!
//! ```text
//! cargo run --example command        # listens on 127.0.0.1:7011, loopback only
//! ```
//!
//! It listens on loopback unless `--addr` says otherwise. Each connection is
//! served on a thread of its own (a handler waits for its programs, so it
//! has no event mode). Ctrl-C or SIGTERM stops the server cleanly. Here
//! `--timeout` is the programs' time limit; a silent connection's is
//! `--idle-timeout`.

#[path = "common.rs"]
mod common;

use clap::Parser;
use rustix::process::{Pid, Signal, kill_process_group};
use socketserver::{Conn, handle, server};
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The longest request frame's payload.
const MAX_REQUEST: usize = 64 * 1024;
/// How often a program that closed its output is checked for exit.
const EXIT_POLL: Duration = Duration::from_millis(5);

/// Remote command server: runs allow-listed programs, without a shell.
///
/// Frames are a 4-byte big-endian length and the payload. A request is a
/// command line; the reply is `<exit code>\n` and the output (126: refused,
/// 127: not found, 124: killed at the time limit).
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7011")]
    addr: String,

    /// The programs that may run, by bare name, comma-separated.
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        default_value = "echo,date,uname,ls"
    )]
    allow: Vec<String>,

    /// How long a program may run, in seconds (fractions allowed); past it,
    /// it and every process it started are killed.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = common::parse_seconds)]
    timeout: Duration,

    /// The most output a reply carries, in bytes; the rest is cut.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    max_output: usize,

    /// Close a connection whose client stays silent for this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = common::parse_seconds)]
    idle_timeout: Option<Duration>,
}

/// The server: what may run, and for how long.
#[server(transport = "tcp", concurrency = "threading", conn = "()")]
#[derive(Debug)]
struct Commands {
    allow: Vec<String>,
    time_limit: Duration,
    max_output: usize,
}

impl Commands {
    /// Called with what has come: each whole frame is a command to run.
    #[handle]
    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        loop {
            let line = match conn.input().frame(MAX_REQUEST) {
                Ok(Some(frame)) => String::from_utf8(frame.to_vec()),
                Ok(None) => return Ok(()),
                Err(e) => {
                    // Said to the client too, then the connection closes.
                    let reply = format!("126\nrefused: {e}\n");
                    conn.output().write_frame(reply.as_bytes())?;
                    return Err(e);
                }
            };
            let reply = match line {
                Ok(line) => self.run(&line, &conn.client_address().to_string()),
                Err(_) => b"126\nrefused: the command line is not UTF-8\n".to_vec(),
            };
            conn.output().write_frame(&reply)?;
        }
    }
}

impl Commands {
    /// Runs one command line and makes its reply.
    fn run(&self, line: &str, client: &str) -> Vec<u8> {
        let args: Vec<&str> = line.split_whitespace().collect();
        let Some((&program, args)) = args.split_first() else {
            return b"126\nrefused: an empty command line\n".to_vec();
        };
        if program.contains('/') {
            return format!("126\nrefused: {program:?} is a path; name a program\n").into_bytes();
        }
        if !self.allow.iter().any(|allowed| allowed == program) {
            log::warn!("{client}: refused {line:?}: {program:?} is not allowed");
            let allowed = self.allow.join(", ");
            return format!("126\nrefused: {program:?} is not allowed (allowed: {allowed})\n")
                .into_bytes();
        }
        log::info!("{client}: running {line:?}");
        match self.spawn(program, args) {
            Ok(reply) => reply,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                format!("127\n{program}: not found\n").into_bytes()
            }
            Err(e) => format!("126\n{program}: cannot run: {e}\n").into_bytes(),
        }
    }

    /// Runs `program` with its output (both streams, one pipe) read up to the
    /// cap, killing its process group at the time limit.
    fn spawn(&self, program: &str, args: &[&str]) -> io::Result<Vec<u8>> {
        let (mut reader, writer) = io::pipe()?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            // A group of its own, so that the time limit reaches whatever
            // the program starts too.
            .process_group(0)
            .spawn()?;
        let deadline = Instant::now() + self.time_limit;
        let cap = self.max_output;
        let (done, output) = mpsc::channel();
        // Reads to the end (every process of the group closed the pipe),
        // keeping the first `cap` bytes and draining the rest, so that a
        // program with much to say is not stopped by a full pipe.
        thread::spawn(move || {
            let mut kept = Vec::new();
            let mut total = 0usize;
            let mut chunk = [0; 8192];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        let room = cap.saturating_sub(kept.len());
                        kept.extend_from_slice(&chunk[..n.min(room)]);
                        total += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = done.send((kept, total));
        });
        let group = Pid::from_child(&child);
        let kill = || {
            // Already gone is fine.
            let _ = kill_process_group(group, Signal::KILL);
        };
        let mut timed_out = false;
        let (kept, total) = match output.recv_timeout(self.time_limit) {
            Ok(output) => output,
            Err(_) => {
                timed_out = true;
                kill();
                // The pipe ends with the group, unless a process left it.
                output
                    .recv_timeout(Duration::from_secs(1))
                    .unwrap_or_default()
            }
        };
        // It closed its output; it may still be running.
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                timed_out = true;
                kill();
                break child.wait()?;
            }
            thread::sleep(EXIT_POLL);
        };
        let code = match (timed_out, status.code(), status.signal()) {
            (true, _, _) => 124,
            (false, Some(code), _) => code,
            (false, None, Some(signal)) => 128 + signal,
            (false, None, None) => 1,
        };
        let mut reply = format!("{code}\n").into_bytes();
        reply.extend_from_slice(&kept);
        if total > kept.len() {
            let note = format!(
                "\n[output cut: {total} bytes, the first {} shown]\n",
                kept.len()
            );
            reply.extend_from_slice(note.as_bytes());
        }
        if timed_out {
            let note = format!("\n[killed after {:?}]\n", self.time_limit);
            reply.extend_from_slice(note.as_bytes());
        }
        Ok(reply)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    let commands = Commands {
        allow: cli.allow,
        time_limit: cli.timeout,
        max_output: cli.max_output,
    };
    let options = common::Options {
        mode: common::Mode::Threading,
        timeout: cli.idle_timeout,
        busy_poll: 0,
    };
    common::serve(&cli.addr, &options, commands.builder())
}
