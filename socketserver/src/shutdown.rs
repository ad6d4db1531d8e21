//! [`ShutdownHandle`]: stopping a running `serve_forever` from any thread.

use crate::connections::Connections;
use crate::selector::Waker;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// The state a server loop shares with its shutdown handles.
pub(crate) struct Control {
    requested: AtomicBool,
    running: Mutex<Option<ThreadId>>,
    stopped: Condvar,
    waker: Waker,
    connections: Arc<Connections>,
    shutdown_timeout: Duration,
}

impl Control {
    pub(crate) fn new(
        waker: Waker,
        connections: Arc<Connections>,
        shutdown_timeout: Duration,
    ) -> Control {
        Control {
            requested: AtomicBool::new(false),
            running: Mutex::new(None),
            stopped: Condvar::new(),
            waker,
            connections,
            shutdown_timeout,
        }
    }

    fn running(&self) -> MutexGuard<'_, Option<ThreadId>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a shutdown was asked for and the loop has not stopped for it yet.
    pub(crate) fn shutdown_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Marks the loop as running on this thread until the guard drops.
    pub(crate) fn enter(&self) -> Running<'_> {
        *self.running() = Some(thread::current().id());
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
        let mut running = self.control.running();
        // Consumed: the server can serve again after this shutdown.
        self.control.requested.store(false, Ordering::Release);
        *running = None;
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
/// handle.shutdown(); // returns once the loop has stopped
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
    ///   `Synchronous` handler waiting on an idle client), the open connections
    ///   are shut down, so that their handlers see end of input and return.
    ///
    /// Handlers still running on other threads are waited for when the server
    /// is closed or dropped, not here.
    pub fn shutdown(&self) {
        let control = &*self.control;
        control.requested.store(true, Ordering::Release);
        if let Err(e) = control.waker.wake() {
            log::error!("cannot wake the server loop ({e}); it stops within its poll_interval");
        }
        let running = control.running();
        if running.is_none_or(|id| id == thread::current().id()) {
            return;
        }
        let (running, waited) = control
            .stopped
            .wait_timeout_while(running, control.shutdown_timeout, |r| r.is_some())
            .unwrap_or_else(PoisonError::into_inner);
        if !waited.timed_out() {
            return;
        }
        drop(running);
        let stuck = control.connections.close_all();
        log::warn!(
            "the server loop is still busy {:?} after shutdown: shutting down its {stuck} \
             open connection(s)",
            control.shutdown_timeout
        );
        let running = control.running();
        let _stopped = control
            .stopped
            .wait_while(running, |r| r.is_some())
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// Whether `serve_forever` is running.
    pub fn is_serving(&self) -> bool {
        self.control.running().is_some()
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
