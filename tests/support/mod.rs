//! What the integration tests share: running a server on a thread, clients with
//! bounded waits, bounded polling, the process's open descriptors, and a logger
//! that keeps what it is given.
//!
//! Every wait here is bounded by [`BOUND`], so that a broken server fails a test
//! instead of hanging the suite.

pub mod gate;

use socketserver::{
    Concurrency, Drives, Server, Service, ShutdownHandle, StreamRequest, Transport, Yields,
    handler_fn,
};
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest any test waits for anything.
pub const BOUND: Duration = Duration::from_secs(20);

/// A server running `serve_forever` on a thread of its own; dropping it shuts
/// the server down, closes it and joins the thread. After a failure of the
/// test it does not wait for a server that may be stuck.
pub struct Running<A = SocketAddr> {
    addr: A,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

/// Starts `server` (of any transport) on a thread. The server is closed
/// (dropped) on that thread when its loop ends.
pub fn serve<T, C, S>(mut server: Server<T, C, S>) -> Running<T::Addr>
where
    T: Transport + Yields<S::Request>,
    C: Concurrency + Drives<S::Request>,
    S: Service,
{
    let addr = server.server_address().clone();
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

impl<A: Clone> Running<A> {
    /// Where the server listens.
    pub fn addr(&self) -> A {
        self.addr.clone()
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

impl<A> Drop for Running<A> {
    fn drop(&mut self) {
        self.handle.shutdown();
        if thread::panicking() {
            return;
        }
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .expect("the server thread panicked")
                .expect("serve_forever failed");
        }
    }
}

/// A directory of the test's own, for Unix socket files; removed when dropped,
/// and when the test did not fail, it must be empty by then (every socket
/// file was removed by its server).
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory under the system's temporary directory.
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // Short: a socket's path must fit in about 100 bytes.
        let path = std::env::temp_dir().join(format!(
            "socketserver-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TempDir(path)
    }

    /// A path in the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Default for TempDir {
    fn default() -> TempDir {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let left: Vec<_> = fs::read_dir(&self.0)
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        let _ = fs::remove_dir_all(&self.0);
        if !thread::panicking() {
            assert!(left.is_empty(), "files left behind: {left:?}");
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

/// A buffer-shaped handler that answers each whole line with its length
/// (`line of N`), and input holding no whole line with how much it holds
/// (`holding N`): the client can tell when each piece was read.
pub fn line_lengths(conn: &mut socketserver::Conn) -> io::Result<()> {
    let (input, output, ()) = conn.parts();
    let mut answered = false;
    while let Some(line) = input.line(1024)? {
        writeln!(output, "line of {}", line.len())?;
        answered = true;
    }
    if !answered && !input.bytes().is_empty() {
        writeln!(output, "holding {}", input.bytes().len())?;
    }
    Ok(())
}
