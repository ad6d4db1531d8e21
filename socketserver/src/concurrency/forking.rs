//! [`Forking`]: a process per request, Python's `ForkingMixIn`.
//!
//! The one module of the crate with `unsafe` code (besides one `ioctl` in
//! `request/stream.rs`): `fork`, `waitpid`, `kill` and `_exit`, each call
//! argued where it is made.

#![allow(unsafe_code)]

use super::{Concurrency, Drives, Job, sealed};
use crate::connections::{Connections, Place, Ticket};
use crate::report::{self, emit};
use crate::request::Close;
use crate::request::Request;
use crate::selector::Waker;
use crate::service::Service;
use crate::signals;
use signal_hook::SigId;
use signal_hook::consts::SIGCHLD;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How many children may run at once unless [`Forking::max_children`] says
/// otherwise (Python's default).
const MAX_CHILDREN: usize = 40;

/// The longest pause between two looks at the children while closing waits
/// for them to end.
const CLOSE_POLL_MAX: Duration = Duration::from_millis(20);

/// Serves each request in a child process of its own (Python's
/// `ForkingMixIn`): the server `fork`s for every request, the child serves it
/// and exits, and the server goes on at once. The parent closes its copy of
/// the connection right after the fork; the connection lives in the child.
///
/// * `max_children` (default 40, as in Python): how many children run at once.
///   At the bound the server stops accepting: further connections wait in the
///   kernel's listen queue (datagrams in the socket's buffer) until a child
///   has ended; none is refused.
/// * Children are reaped on every turn of the server loop (at least once per
///   `poll_interval`) and under [`handle_request`](crate::Server::handle_request),
///   so a child that ended gives its place back within `poll_interval`. Only
///   the children this server forked are waited for: other children of the
///   program are left alone.
/// * A handler that returns an error or panics is reported by
///   [`handle_error`](Service::handle_error), in the child, and the child exits
///   with status 1; the server goes on. The parent logs a child's non-zero
///   exit at `debug` level.
/// * Each child counts as an open request while it runs
///   ([`open_requests`](crate::Server::open_requests), `max_connections`).
///   Closing the server waits up to `shutdown_timeout` for the children, then
///   sends SIGTERM to those still running, and SIGKILL to any still running
///   `shutdown_timeout` after that; it returns once every child is reaped: no
///   zombie is left.
///
/// What a child is, as with any `fork`:
///
/// * A copy of the server's memory: what a handler changes in the server's
///   state (a counter, a cache) is seen neither by the server nor by other
///   children. Share through files or a database, or use [`Threading`](crate::Threading)
///   or [`Pool`](crate::Pool).
/// * A copy of only the thread that forked: a lock that another thread of the
///   program held at that moment stays locked in the child. The runtime takes
///   none of its own locks in the child; a handler that takes one (a logger's, a `Mutex` of the
///   server's state) could wait for ever if another thread held it then, and is
///   ended by the server when it closes. Keep the handlers of a forking server
///   simple, and the program's other threads few.
/// * It inherits the program's open files and sockets (the server's listening
///   socket too) until it ends: a connection that another part of the program
///   closes without `shutdown` stays open for its peer while a child lives.
/// * It ends with `_exit`: no destructor or `atexit` handler runs in it, and
///   standard output that is still buffered (a `print!` without a newline) is
///   lost: flush it.
/// * SIGINT and SIGTERM end it as by default, even while
///   [`shutdown_on_signals`](crate::Server::shutdown_on_signals) makes them stop
///   the server gracefully: a Ctrl-C in a terminal reaches every process of the
///   foreground group, so the children end at once while the server stops.
///
/// ```
/// use socketserver::{ForkingTcpServer, StreamRequest, handler_fn};
/// use std::io::{self, Read, Write};
/// use std::net::TcpStream;
/// use std::thread;
///
/// let hello = handler_fn(|req: &mut StreamRequest| {
///     writeln!(req.wfile(), "hello from process {}", std::process::id())
/// });
/// let mut server = ForkingTcpServer::builder(hello).max_children(8).bind("127.0.0.1:0")?;
/// let addr = *server.server_address();
/// let stop = server.shutdown_handle();
/// let serving = thread::spawn(move || server.serve_forever());
///
/// let mut reply = String::new();
/// TcpStream::connect(addr)?.read_to_string(&mut reply)?;
/// assert!(reply.starts_with("hello from process "));
/// assert_ne!(reply.trim_end(), format!("hello from process {}", std::process::id()));
///
/// stop.shutdown();
/// serving.join().unwrap()?; // the server is dropped: every child is reaped
/// # Ok::<(), io::Error>(())
/// ```
pub struct Forking {
    max_children: usize,
    /// Every child forked and not reaped yet.
    children: Vec<Child>,
    /// A copy of standard error, made before the first fork, which children
    /// report through without taking a lock (see `report::enter_forked_child`).
    stderr: Option<File>,
    /// Wakes the server loop when a child exits.
    exits: Option<ChildExits>,
}

/// Wakes the server loop when a child process exits, so that a server at
/// `max_children` reaps it and accepts again at once rather than at its next
/// `poll_interval`: SIGCHLD, through `signal-hook`'s self-pipe, read by a
/// thread that wakes the loop. (SIGCHLD of other children of the program only
/// wakes the loop for nothing; the signal is not consumed from anyone else.)
struct ChildExits {
    id: SigId,
    stop: Arc<AtomicBool>,
    /// A copy of the pipe's writing end, to stop the thread.
    write: UnixStream,
    thread: Option<thread::JoinHandle<()>>,
}

impl ChildExits {
    fn watch(wake_loop: Waker) -> io::Result<ChildExits> {
        let (mut read, write) = UnixStream::pair()?;
        let id = signal_hook::low_level::pipe::register(SIGCHLD, write.try_clone()?)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("socketserver-child-exits".into())
            .spawn(move || {
                let mut bytes = [0; 64];
                loop {
                    match read.read(&mut bytes) {
                        Ok(0) => return,
                        Ok(_) if stopped.load(Ordering::Acquire) => return,
                        Ok(_) => {
                            let _ = wake_loop.wake();
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
            });
        let thread = match thread {
            Ok(thread) => thread,
            Err(e) => {
                signal_hook::low_level::unregister(id);
                return Err(e);
            }
        };
        Ok(ChildExits {
            id,
            stop,
            write,
            thread: Some(thread),
        })
    }
}

impl Drop for ChildExits {
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.id);
        self.stop.store(true, Ordering::Release);
        let _ = (&self.write).write_all(&[0]);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A child serving one request.
struct Child {
    process: Arc<Process>,
    /// The request's place in the registry of open requests, held for the
    /// child's life: the child's process is its closer there.
    _ticket: Ticket,
}

/// A child process, as the server waits for it and ends it.
struct Process {
    pid: libc::pid_t,
    /// Whether the child has been reaped. Set under this lock by the call that
    /// reaps it, and read under it before a signal is sent, so that no signal
    /// goes to the pid once the system may have given it to another process.
    reaped: Mutex<bool>,
}

impl Default for Forking {
    fn default() -> Forking {
        Forking::new()
    }
}

impl Forking {
    /// A process per request, at most 40 at once.
    pub fn new() -> Forking {
        Forking {
            max_children: MAX_CHILDREN,
            children: Vec::new(),
            stderr: None,
            exits: None,
        }
    }

    /// How many child processes serve requests at once (Python's
    /// `max_children`; default 40); at the bound, connections wait in the
    /// kernel's listen queue until a child ends. Binding fails with
    /// [`io::ErrorKind::InvalidInput`] for 0.
    pub fn max_children(mut self, max: usize) -> Forking {
        self.max_children = max;
        self
    }

    /// How many child processes this server has not reaped yet: the running
    /// ones, and those that ended since the last reaping (on every turn of the
    /// server loop and under `handle_request`).
    pub fn children(&self) -> usize {
        self.children.len()
    }

    /// Reaps the children that have ended, which lets their requests go.
    fn reap(&mut self) {
        self.children.retain(|child| !child.process.reap(false));
    }

    /// Reaps children as they end, until none is left (true) or `timeout` has
    /// passed (false). Only when no loop runs: it polls, with short pauses.
    fn wait_for_children(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            self.reap();
            if self.children.is_empty() {
                return true;
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return false;
            }
            thread::sleep(pause.min(left));
            pause = (pause * 2).min(CLOSE_POLL_MAX);
        }
    }
}

impl Process {
    fn lock(&self) -> MutexGuard<'_, bool> {
        // A flag set in one statement: nothing to repair after a panic.
        self.reaped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reaps the child if it has ended (with `block`, waits until it has);
    /// returns whether it is gone.
    fn reap(&self, block: bool) -> bool {
        let mut reaped = self.lock();
        if *reaped {
            return true;
        }
        let options = if block { 0 } else { libc::WNOHANG };
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: `waitpid` writes only through its pointer, which points
            // to a live `c_int` of this frame. It is given the pid of a child
            // this process forked and has not reaped (`reaped` is false, and
            // its lock is held until the result is recorded), never -1: it
            // waits for that child alone, and no other child of the program is
            // reaped behind the program's back.
            let done = unsafe { libc::waitpid(self.pid, &mut status, options) };
            if done == self.pid {
                *reaped = true;
                log_exit(self.pid, status);
                return true;
            }
            if done == 0 {
                return false; // still running (WNOHANG)
            }
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // ECHILD: not a child to wait for any more; the program reaped it
            // itself, or set SIGCHLD to be ignored (the system reaps then).
            *reaped = true;
            emit!(
                log::Level::Debug,
                "child process {} was reaped elsewhere ({error})",
                self.pid
            );
            return true;
        }
    }

    /// Sends `signal` to the child, unless it has been reaped.
    fn signal(&self, signal: libc::c_int) {
        let reaped = self.lock();
        if *reaped {
            return;
        }
        // SAFETY: `kill` takes no pointer. The pid is that of a child of this
        // process that has not been reaped (checked under the lock that
        // reaping holds, held until the signal is sent): running, or a zombie
        // whose pid the system gives to no one else, so the signal reaches
        // that child and no other process.
        let sent = unsafe { libc::kill(self.pid, signal) };
        if sent != 0 {
            let error = io::Error::last_os_error();
            emit!(
                log::Level::Debug,
                "cannot signal child process {}: {error}",
                self.pid
            );
        }
    }
}

impl Close for Process {
    /// Asks the child to end: what the registry does to a request that
    /// outstays `shutdown_timeout`.
    fn force_close(&self) {
        self.signal(libc::SIGTERM);
    }
}

/// Logs how a child ended, when it did not end well (it reported why itself).
fn log_exit(pid: libc::pid_t, status: libc::c_int) {
    if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        if code != 0 {
            emit!(
                log::Level::Debug,
                "child process {pid} exited with status {code}"
            );
        }
    } else if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        let name = signal_hook::low_level::signal_name(signal)
            .map_or_else(|| format!("signal {signal}"), str::to_owned);
        emit!(log::Level::Debug, "child process {pid} was ended by {name}");
    }
}

/// The child's whole life: serves the request and exits, 0 when every step
/// succeeded and 1 otherwise. Never returns into the server loop.
fn serve_in_child<S: Service>(job: Job<S>, stderr: Option<&File>) -> ! {
    signals::after_fork_in_child();
    if let Some(stderr) = stderr {
        report::enter_forked_child(stderr);
    }
    // `run_in_child` catches every panic of the service; this catches any
    // other, so that nothing unwinds into the server loop, which must never
    // run in a child. The payload is forgotten: its `drop` could panic too.
    let ok =
        panic::catch_unwind(AssertUnwindSafe(|| job.run_in_child())).unwrap_or_else(|payload| {
            std::mem::forget(payload);
            false
        });
    // SAFETY: `_exit` takes no pointer and ends the process at once, which is
    // what the child must do: no destructor runs (the server's state is the
    // parent's: its socket file, its registry), no `atexit` handler, and no
    // buffer copied from the parent is flushed (its pending output would be
    // printed twice, under a lock another thread of the parent may have held).
    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
}

impl sealed::Sealed for Forking {}

impl<R: Request> Drives<R> for Forking {
    fn process<S: Service<Request = R>>(&mut self, job: Job<S>) -> io::Result<()> {
        if self.stderr.is_none() {
            self.stderr = io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .ok()
                .map(File::from);
        }
        // SAFETY: `fork` takes no pointer; what needs care is the child, which
        // has a copy of this process's memory and only this thread: every lock
        // another thread held at the fork stays held there. The child runs
        // `serve_in_child` alone, which takes none of the runtime's locks
        // (`after_fork_in_child` is one atomic store; `run_in_child` does not
        // touch the registry; the runtime's reports go to a copy of stderr
        // with no lock, not through `log` or std's locked stderr), allocates through the system allocator, which
        // is usable after a fork (glibc, musl and macOS make it so), and ends
        // with `_exit` without returning here or unwinding. What the service
        // does in the child is the caveat `Forking`'s documentation states.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            // The job is dropped: its connection is closed unserved.
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            serve_in_child(job, self.stderr.as_ref());
        }
        let ticket = job.into_ticket();
        let process = Arc::new(Process {
            pid,
            reaped: Mutex::new(false),
        });
        ticket.attach_at(Place::Child, Arc::clone(&process) as Arc<dyn Close>);
        self.children.push(Child {
            process,
            _ticket: ticket,
        });
        Ok(())
    }
}

impl Concurrency for Forking {
    fn has_capacity(&self) -> bool {
        self.children.len() < self.max_children
    }

    fn validate(&self) -> io::Result<()> {
        if self.max_children == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "`max_children` must be at least 1",
            ));
        }
        Ok(())
    }

    fn attach(&mut self, wake_loop: Waker) -> io::Result<()> {
        match ChildExits::watch(wake_loop) {
            Ok(exits) => self.exits = Some(exits),
            Err(e) => emit!(
                log::Level::Debug,
                "cannot watch for SIGCHLD ({e}): at `max_children`, the server accepts again \
                 within its poll_interval"
            ),
        }
        Ok(())
    }

    fn service_actions(&mut self) {
        self.reap();
    }

    fn close(&mut self, connections: &Connections, shutdown_timeout: Duration) {
        // No loop runs any more: this reaps on its own.
        if self.wait_for_children(shutdown_timeout) {
            return;
        }
        // Through the registry, whose closer for a child sends it SIGTERM.
        let stuck = connections.close_all();
        emit!(
            log::Level::Warn,
            "{stuck} child process(es) still running {shutdown_timeout:?} after the server \
             began to close: ending them with SIGTERM"
        );
        if self.wait_for_children(shutdown_timeout) {
            return;
        }
        emit!(
            log::Level::Warn,
            "{} child process(es) still running {shutdown_timeout:?} after SIGTERM: killing \
             them (SIGKILL)",
            self.children.len()
        );
        for child in &self.children {
            child.process.signal(libc::SIGKILL);
        }
        for child in self.children.drain(..) {
            child.process.reap(true);
        }
    }
}

impl fmt::Debug for Forking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forking")
            .field("max_children", &self.max_children)
            .field("children", &self.children.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bound_is_pythons_and_zero_is_refused() {
        assert_eq!(Forking::new().max_children, 40);
        assert!(Forking::new().validate().is_ok());
        assert!(Forking::new().max_children(1).validate().is_ok());
        let e = Forking::new().max_children(0).validate().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(Forking::new().max_children(1).has_capacity());
        assert_eq!(Forking::default().children(), 0);
    }
}
