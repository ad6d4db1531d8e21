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
//! has no event mode), one request at a time: the reply to one goes out
//! before the next runs, so pipelined requests hold one reply at a time. A
//! program runs in a process group of its own, and nothing it started
//! outlives its reply: what is left of the group when the program ends (or
//! at the time limit) is killed with it. A process that leaves the group
//! (`setsid`) is beyond that reach: allow only programs you trust not to.
//!
//! Ctrl-C or SIGTERM stops the server cleanly: it kills the programs still
//! running (their replies say so) and refuses more. Here `--timeout` is the
//! programs' time limit; a silent connection's is `--idle-timeout`.

#[path = "common.rs"]
mod common;

use clap::Parser;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process_group, waitid};
use socketserver::{Conn, handle, server};
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// The longest request frame's payload.
const MAX_REQUEST: usize = 64 * 1024;
/// How often a program that closed its output is checked for exit.
const EXIT_POLL: Duration = Duration::from_millis(5);
/// How long the output is waited for after the program's group was killed:
/// only a process that left the group can hold it open longer.
const OUTPUT_GRACE: Duration = Duration::from_secs(1);

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
    running: Mutex<Running>,
}

/// The programs running now, by process group, and whether the server is
/// stopping (when they are killed, and no more start).
#[derive(Debug, Default)]
struct Running {
    stopping: bool,
    groups: Vec<Pid>,
}

/// What a program wrote: the first `--max-output` bytes, and how many in all.
#[derive(Debug, Default)]
struct Output {
    kept: Vec<u8>,
    total: usize,
}

impl Commands {
    /// Called with what has come: the first whole frame is a command to run.
    /// One per call: the runtime sends the reply before it calls again on
    /// the frames left.
    #[handle]
    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        let client = conn.client_address().to_string();
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
            Ok(line) => self.run(&line, &client),
            Err(_) => refusal(&client, "the command line is not UTF-8"),
        };
        conn.output().write_frame(&reply)?;
        if self.lock().stopping {
            conn.close();
        }
        Ok(())
    }
}

impl Commands {
    /// Runs one command line and makes its reply.
    fn run(&self, line: &str, client: &str) -> Vec<u8> {
        let args: Vec<&str> = line.split_whitespace().collect();
        let Some((&program, args)) = args.split_first() else {
            return refusal(client, "an empty command line");
        };
        if program.contains('/') {
            return refusal(client, &format!("{program:?} is a path; name a program"));
        }
        if !self.allow.iter().any(|allowed| allowed == program) {
            let allowed = self.allow.join(", ");
            return refusal(
                client,
                &format!("{program:?} is not allowed (allowed: {allowed})"),
            );
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

    fn lock(&self) -> MutexGuard<'_, Running> {
        // A push, a removal or a flag: nothing to repair after a panic.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The server is stopping: kills every program running, and refuses more.
    fn stop(&self) {
        let mut running = self.lock();
        running.stopping = true;
        if !running.groups.is_empty() {
            log::warn!(
                "stopping: killing {} running program(s)",
                running.groups.len()
            );
        }
        for &group in &running.groups {
            // Already gone is fine.
            let _ = kill_process_group(group, Signal::KILL);
        }
    }

    /// Runs `program` with its output (both streams, one pipe) read up to the
    /// cap, killing its process group at the time limit, and what is left of
    /// the group when it ends.
    fn spawn(&self, program: &str, args: &[&str]) -> io::Result<Vec<u8>> {
        let (mut reader, writer) = io::pipe()?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            // A group of its own, so that the time limit reaches whatever
            // the program starts too.
            .process_group(0);
        let mut child = {
            let mut running = self.lock();
            if running.stopping {
                return Ok(b"126\nrefused: the server is stopping\n".to_vec());
            }
            let child = command.spawn()?;
            running.groups.push(Pid::from_child(&child));
            child
        };
        // Our copies of the pipe's writing end: the reader sees its end only
        // once the program's processes have closed theirs.
        drop(command);
        let group = Pid::from_child(&child);
        let kill = || {
            // Already gone is fine.
            let _ = kill_process_group(group, Signal::KILL);
        };
        let deadline = Instant::now() + self.time_limit;
        let cap = self.max_output;
        let output = Arc::new(Mutex::new(Output::default()));
        let (done, closed) = mpsc::channel();
        // Reads to the end (every process of the group closed the pipe),
        // keeping the first `cap` bytes and draining the rest, so that a
        // program with much to say is not stopped by a full pipe.
        thread::spawn({
            let output = Arc::clone(&output);
            move || {
                let mut chunk = [0; 8192];
                loop {
                    match reader.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            let mut output = output.lock().unwrap_or_else(PoisonError::into_inner);
                            let room = cap.saturating_sub(output.kept.len());
                            output.kept.extend_from_slice(&chunk[..n.min(room)]);
                            output.total += n;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                let _ = done.send(());
            }
        });
        let mut timed_out = false;
        if closed.recv_timeout(self.time_limit).is_err() {
            timed_out = true;
            kill();
            // The pipe ends with the group, unless a process left it; what
            // came until then is the reply all the same.
            let _ = closed.recv_timeout(OUTPUT_GRACE);
        }
        // It closed its output; it may still be running. Waited for without
        // reaping it: until it is reaped, its process id (its group's) is
        // nobody else's, so the group can still be killed safely.
        loop {
            if has_exited(&child, false)? {
                break;
            }
            if Instant::now() >= deadline {
                timed_out = true;
                kill();
                has_exited(&child, true)?;
                break;
            }
            thread::sleep(EXIT_POLL);
        }
        // Whatever it started and left behind goes with it.
        kill();
        let stopping = {
            let mut running = self.lock();
            running.groups.retain(|&g| g != group);
            running.stopping
        };
        let status = child.wait()?;
        let code = match (timed_out, status.code(), status.signal()) {
            (true, _, _) => 124,
            (false, Some(code), _) => code,
            (false, None, Some(signal)) => 128 + signal,
            (false, None, None) => 1,
        };
        let output = std::mem::take(&mut *output.lock().unwrap_or_else(PoisonError::into_inner));
        let mut reply = format!("{code}\n").into_bytes();
        reply.extend_from_slice(&output.kept);
        if output.total > output.kept.len() {
            let note = format!(
                "\n[output cut: {} bytes, the first {} shown]\n",
                output.total,
                output.kept.len()
            );
            reply.extend_from_slice(note.as_bytes());
        }
        if timed_out {
            let note = format!("\n[killed after {:?}]\n", self.time_limit);
            reply.extend_from_slice(note.as_bytes());
        } else if stopping && status.signal() == Some(Signal::KILL.as_raw()) {
            reply.extend_from_slice(b"\n[killed: the server is stopping]\n");
        }
        Ok(reply)
    }
}

/// Whether `child` has ended, leaving it to be reaped; with `block`, waits
/// until it has.
fn has_exited(child: &Child, block: bool) -> io::Result<bool> {
    let mut options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
    if !block {
        options |= WaitIdOptions::NOHANG;
    }
    loop {
        match waitid(WaitId::Pid(Pid::from_child(child)), options) {
            Ok(status) => return Ok(status.is_some()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// A refused command's reply (126 and why), logged.
fn refusal(client: &str, reason: &str) -> Vec<u8> {
    log::warn!("{client}: refused: {reason}");
    format!("126\nrefused: {reason}\n").into_bytes()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    let commands = Commands {
        allow: cli.allow,
        time_limit: cli.timeout,
        max_output: cli.max_output,
        running: Mutex::default(),
    };
    let options = common::Options {
        mode: common::Mode::Threading,
        timeout: cli.idle_timeout,
        busy_poll: 0,
    };
    common::serve_then_stop(&cli.addr, &options, commands.builder(), Commands::stop)
}
