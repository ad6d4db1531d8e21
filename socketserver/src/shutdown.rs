//! [`ShutdownHandle`]: stopping a running `serve_forever` from any thread.

use crate::connections::Connections;
use crate::report::emit;
use crate::selector::Waker;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// The state a server loop shares with its shutdown handles.
pub(crate) struct Control {
    requested: AtomicBool,
    running: Mutex<LoopState>,
    stopped: Condvar,
    waker: Waker,
    connections: Arc<Connections>,
    shutdown_timeout: Duration,
    /// The server's address, for the log.
    server: String,
}

#[derive(Default)]
struct LoopState {
    /// The thread of the running loop, if one runs.
    thread: Option<ThreadId>,
    /// Counts the runs of the loop, so that a shutdown acts on the run it was
    /// called for, not on a later one.
    run: u64,
}

impl Control {
    pub(crate) fn new(
        waker: Waker,
        connections: Arc<Connections>,
        shutdown_timeout: Duration,
        server: String,
    ) -> Control {
        Control {
            requested: AtomicBool::new(false),
            running: Mutex::new(LoopState::default()),
            stopped: Condvar::new(),
            waker,
            connections,
            shutdown_timeout,
            server,
        }
    }

    fn state(&self) -> MutexGuard<'_, LoopState> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a shutdown was asked for and the loop has not stopped for it yet.
    pub(crate) fn shutdown_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Marks the loop as running on this thread until the guard drops.
    pub(crate) fn enter(&self) -> Running<'_> {
        let mut state = self.state();
        state.thread = Some(thread::current().id());
        state.run += 1;
        self.connections.reopen();
        Running { control: self }
    }
}

/// A running loop; dropping it (on every way out of the loop) marks it stopped.
pub(crate) struct Running<'a> {
    control: &'a Control,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut state = self.control.state();
        // Consumed: the server can serve again after this shutdown.
        self.control.requested.store(false, Ordering::Release);
        // A shutdown that gave up on this run's inline handler is over too.
        self.control.connections.reopen();
        state.thread = None;
        self.control.stopped.notify_all();
    }
}

/// Stops a server's [`serve_forever`](crate::Server::serve_forever) from any
/// thread (Python's `shutdown()`). Cheap to clone; get one with
/// [`Server::shutdown_handle`](crate::Server::shutdown_handle).
///
/// ```
/// use socketserver::{TcpServer, StreamRequest, handler_fn};
/// use std::thread;
///
/// let mut server = TcpServer::bind("127.0.0.1:0", handler_fn(|_: &mut StreamRequest| Ok(())))?;
/// let handle = server.shutdown_handle();
/// let loop_thread = thread::spawn(move || server.serve_forever());
/// // Returns once the loop has stopped; if the loop has not started yet, it
/// // returns at once, and `serve_forever` returns as soon as it starts.
/// handle.shutdown();
/// loop_thread.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct ShutdownHandle {
    pub(crate) control: Arc<Control>,
}

impl ShutdownHandle {
    /// Tells the loop to stop and waits until it has.
    ///
    /// * The loop wakes at once, whatever its `poll_interval`, and accepts no
    ///   further connection.
    /// * When no loop is running, this returns at once, and the next
    ///   `serve_forever` returns as soon as it starts.
    /// * Called from the loop's own thread (from a handler of a `Synchronous`
    ///   server), it only asks, and the loop stops when the handler returns.
    /// * If the loop is still busy `shutdown_timeout` after the call (a
    ///   `Synchronous` handler waiting on an idle client), the connections the
    ///   loop's thread serves itself are shut down, so that their handlers see
    ///   end of input and return.
    ///
    /// Handlers still running on other threads are waited for when the server
    /// is closed or dropped, not here.
    pub fn shutdown(&self) {
        let control = &*self.control;
        control.requested.store(true, Ordering::Release);
        if let Err(e) = control.waker.wake() {
            emit!(
                log::Level::Error,
                "cannot wake the server loop ({e}); it stops within its poll_interval"
            );
        }
        let state = control.state();
        let Some(loop_thread) = state.thread else {
            return;
        };
        if loop_thread == thread::current().id() {
            return;
        }
        let run = state.run;
        let same_run = |s: &mut LoopState| s.thread.is_some() && s.run == run;
        let (mut state, waited) = control
            .stopped
            .wait_timeout_while(state, control.shutdown_timeout, same_run)
            .unwrap_or_else(PoisonError::into_inner);
        if !waited.timed_out() || !same_run(&mut state) {
            return;
        }
        // Still holding the state, so the run cannot end (and another begin)
        // before its stuck handler is dealt with. Only the loop's own thread is
        // stuck: handlers on other threads are left to `server_close`.
        let stuck = control.connections.close_on(loop_thread);
        emit!(
            log::Level::Warn,
            "the loop of the server on {} is still busy {:?} after shutdown: shutting down \
             the {stuck} connection(s) it serves itself",
            control.server,
            control.shutdown_timeout
        );
        let _stopped = control
            .stopped
            .wait_while(state, same_run)
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// The server's address, as its log messages name it.
    pub(crate) fn server(&self) -> &str {
        &self.control.server
    }

    /// Whether `serve_forever` is running.
    pub fn is_serving(&self) -> bool {
        self.control.state().thread.is_some()
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("serving", &self.is_serving())
            .field("shutdown_requested", &self.control.shutdown_requested())
            .finish()
    }
}
