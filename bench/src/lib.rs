//! What the measurement tools share: reading a process's resident memory, and
//! running a server under test as a child process.
//!
//! The tools measure; they are not tests. See `BENCHMARKS.md` for how to run
//! them and the latest figures.

pub mod loadgen;

pub mod peer;

pub mod proc;

use std::fs;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The resident memory of process `pid`, in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn resident_kib(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// The resident memory of process `pid` once two readings 200 ms apart agree
/// (at most 5 s), in KiB: after a burst of connections, the server's memory
/// settles as its threads and buffers come into being.
pub fn steady_resident_kib(pid: u32) -> io::Result<u64> {
    let mut last = resident_kib(pid)?;
    for _ in 0..25 {
        thread::sleep(Duration::from_millis(200));
        let now = resident_kib(pid)?;
        if now == last {
            break;
        }
        last = now;
    }
    Ok(last)
}

/// A server under measurement: a child process, killed and reaped when dropped.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Runs `command`, with `{addr}` in its arguments replaced by
    /// `127.0.0.1:0`, and waits (up to 30 s) for the line `listening on ADDR`
    /// that the server writes on standard error once it accepts connections
    /// (the examples log it; the peers print it).
    pub fn start(command: &[String]) -> io::Result<ServerProcess> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| io::Error::other("no server command given"))?;
        let args = args.iter().map(|a| a.replace("{addr}", "127.0.0.1:0"));
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (send, listening) = mpsc::channel();
        thread::spawn(move || {
            // Reads to the end, so that the server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, addr)) = line.split_once("listening on ") {
                    let _ = send.send(addr.trim().to_owned());
                }
            }
        });
        let mut server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let addr = listening
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| match server.child.try_wait() {
                Ok(Some(status)) => io::Error::other(format!("{program} exited: {status}")),
                _ => io::Error::other(format!("{program} never said `listening on ADDR`")),
            })?;
        server.addr = addr
            .parse()
            .map_err(|e| io::Error::other(format!("{program} listens on {addr:?}: {e}")))?;
        Ok(server)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
