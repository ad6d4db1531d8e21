//! What the integration tests share: running a server on a thread, clients with
//! bounded waits, bounded polling, the process's open descriptors, and a logger
//! that keeps what it is given.
//!
//! Every wait here is bounded by [`BOUND`], so that a broken server fails a test
//! instead of hanging the suite.

pub mod gate;

use socketserver::{
    Concurrency, Server, Service, ShutdownHandle, StreamRequest, Tcp, Yields, handler_fn,
};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::{Mutex, Once};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest any test waits for anything.
pub const BOUND: Duration = Duration::from_secs(20);

/// A server running `serve_forever` on a thread of its own; dropping it shuts
/// the server down, closes it and joins the thread.
pub struct Running {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

/// Starts `server` on a thread. The server is closed (dropped) on that thread
/// when its loop ends.
pub fn serve<C, S>(mut server: Server<Tcp, C, S>) -> Running
where
    C: Concurrency,
    S: Service,
    Tcp: Yields<S::Request>,
{
    let addr = *server.server_address();
    let handle = server.shutdown_handle();
    let thread = thread::Builder::new()
        .name("test-server".into())
        .spawn(move || server.serve_forever())
        .expect("spawn the server thread");
    Running {
        addr,
        handle,
        thread: Some(thread),
    }
}

impl Running {
    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop it.
    pub fn handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Shuts the server down, waits for its thread (and so for its close) and
    /// returns what `serve_forever` returned.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.handle.shutdown();
        thread.join().expect("the server thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let result = self.stop_inner();
        if !thread::panicking() {
            result.expect("serve_forever failed");
        }
    }
}

/// Echoes every byte back until the client closes its side.
pub fn echo_request(req: &mut StreamRequest) -> io::Result<()> {
    let mut buf = [0; 1024];
    loop {
        let n = req.rfile().read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        req.wfile().write_all(&buf[..n])?;
    }
}

/// An echo service made of [`echo_request`].
pub fn echo() -> impl Service<Request = StreamRequest> {
    handler_fn(echo_request)
}

/// Connects to `addr` with read and write timeouts of [`BOUND`].
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, BOUND).expect("connect to the test server");
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.set_write_timeout(Some(BOUND)).unwrap();
    stream
}

/// Sends `request`, half-closes, and reads everything the server sends back
/// until it closes the connection.
pub fn round_trip(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    read_to_end(&mut stream)
}

/// Reads until end of input (bounded by the stream's read timeout).
pub fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("read the reply");
    reply
}

/// Polls `condition` until it holds; panics naming `what` after [`BOUND`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

/// Set in the environment of a child made by [`child_test`]: the name of the
/// test it is to run.
pub const CHILD_TEST: &str = "SOCKETSERVER_CHILD_TEST";

/// This test binary run again, to run test `name` alone in a process of its
/// own: a scenario marked `#[ignore]` that does nothing unless
/// [`is_child_test`] says it runs as that child.
pub fn child_test(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_TEST, name)
        .env_remove("RUST_BACKTRACE");
    command
}

/// Whether this process is the child [`child_test`] made to run `name`.
pub fn is_child_test(name: &str) -> bool {
    std::env::var(CHILD_TEST).as_deref() == Ok(name)
}

/// How many file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Every log record of this process, as `"LEVEL message"`.
static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.level(), record.args());
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary).
pub fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).expect("no other logger");
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The captured log lines that contain `needle`.
pub fn logged(needle: &str) -> Vec<String> {
    LOGS.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|line| line.contains(needle))
        .cloned()
        .collect()
}

/// The code in the repository's `README.md`, compiled as doc tests so that it
/// cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
