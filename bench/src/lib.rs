//! What the measurement tools share: reading a process's resident memory, and
//! running a server under test as a child process.
//!
//! The tools measure; they are not tests. See `BENCHMARKS.md` for how to run
//! them and the latest figures.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The resident memory of process `pid`, in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn resident_kib(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// A free port of 127.0.0.1, for a server that takes its address on the
/// command line (it could be taken by another program before the server
/// binds it; the server's start then fails and says so).
pub fn free_loopback_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A server under measurement: a child process, killed and reaped when dropped.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Runs `command` (its arguments' `{addr}` replaced by a free loopback
    /// address) and waits, up to 30 s, until it accepts connections.
    pub fn start(command: &[String]) -> io::Result<ServerProcess> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| io::Error::other("no server command given"))?;
        let addr = free_loopback_addr()?;
        let args = args.iter().map(|a| a.replace("{addr}", &addr.to_string()));
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
        let mut server = ServerProcess { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = server.child.try_wait()? {
                return Err(io::Error::other(format!("{program} exited: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "{program} never listened on {addr}"
                )));
            }
            thread::sleep(Duration::from_millis(10));
        }
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
