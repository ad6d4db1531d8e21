//! How a server runs its requests: Python's mixins, as types.
//!
//! A concurrency model replaces exactly one step of the server loop,
//! `process_request`: it receives each accepted request as a [`Job`] and
//! decides where [`Job::run`] happens (or, for [`Event`], on which event loop
//! the connection is served as its input comes). When the server closes, it
//! waits for what it started. Which kinds of request a model serves is
//! [`Drives`], checked where a server is bound.
//!
//! | model | Python | what `process` does |
//! | --- | --- | --- |
//! | [`Synchronous`] | (none) | runs the job in the loop: one request at a time |
//! | [`Threading`] | `ThreadingMixIn` | runs the job on a new thread |
//! | [`Forking`] | `ForkingMixIn` | runs the job in a new child process; full at `max_children` children |
//! | [`Pool`] | (none) | queues the job for `workers` threads; full at `workers + queue` requests; a buffer-shaped connection ([`Conn`](crate::Conn)) waits on the pool's event loop instead, and only its turns are queued |
//! | [`Event`] | (none) | hands the connection to the least-loaded of `workers` event loops, which serve it as its input comes (buffer-shaped handlers, [`Conn`](crate::Conn)); datagrams go to the loops in turn |
//!
//! A model with a bound ([`Pool`], [`Forking`]) says when it is full
//! ([`has_capacity`](Concurrency::has_capacity)): the server then leaves new
//! connections in the kernel's listen queue, and accepts again when the model
//! wakes it ([`Pool`], as a worker gets free) or when its housekeeping finds
//! room ([`Forking`], which reaps its children on every turn: within
//! `poll_interval`). A bound on open connections whatever the model does is
//! `max_connections` ([`Builder::max_connections`](crate::Builder::max_connections)).

mod event;
mod forking;
mod pool;
mod synchronous;
mod threading;

pub use event::Event;
pub use forking::Forking;
pub use pool::Pool;
pub use synchronous::Synchronous;
pub use threading::Threading;

use crate::connections::Connections;
pub use crate::job::Job;
use crate::report::emit;
use crate::request::Request;
use crate::selector::Waker;
use crate::service::Service;
use std::io;
use std::time::{Duration, Instant};

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A concurrency model; implemented by this crate's models only.
pub trait Concurrency: sealed::Sealed + Send + 'static {
    /// Whether the model can take one more request now. While it cannot, the
    /// server stops accepting: connections wait in the kernel's listen queue
    /// (datagrams in the socket's buffer), and the model wakes the loop through
    /// the waker given to [`attach`](Concurrency::attach) when it can again.
    fn has_capacity(&self) -> bool {
        true
    }

    /// Checks the model's settings; binding a server fails with its error.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for a setting out of range (such as a
    /// [`Pool`] of no workers).
    fn validate(&self) -> io::Result<()> {
        Ok(())
    }

    /// Called once, when the server is made, with what wakes its loop; a
    /// model that runs threads of its own starts them here.
    ///
    /// # Errors
    ///
    /// When the model cannot start (binding the server then fails with it).
    fn attach(&mut self, wake_loop: Waker) -> io::Result<()> {
        let _ = wake_loop;
        Ok(())
    }

    /// Housekeeping (such as reaping finished threads or child processes), on
    /// every turn of `serve_forever` and of `handle_request`.
    fn service_actions(&mut self) {}

    /// Waits, as configured, for the requests this model started: up to
    /// `shutdown_timeout`; the connections still open then are shut down, so
    /// their handlers see end of input and return, and are waited for.
    fn close(&mut self, connections: &Connections, shutdown_timeout: Duration);
}

/// The kinds of request a concurrency model can serve: checked where a server
/// is bound, so that a handler a model cannot drive (a `StreamRequest`
/// handler under [`Event`], which would block its loop) is a compile error on
/// the user's code. The blocking models serve every kind.
#[diagnostic::on_unimplemented(
    message = "the `{Self}` concurrency model cannot serve `{R}` requests",
    label = "`{Self}` cannot serve these requests",
    note = "under `Event` a stream handler takes `&mut Conn` (the buffer shape: it is called with \
            the bytes received so far and never blocks the loop), not `&mut StreamRequest`"
)]
pub trait Drives<R: Request>: Concurrency {
    /// Starts serving `job` (Python's `process_request`). An error means the job
    /// could not be started; it has been dropped, which closed its connection.
    #[doc(hidden)]
    fn process<S: Service<Request = R>>(&mut self, job: Job<S>) -> io::Result<()>;
}

/// Waits for every open connection: up to `shutdown_timeout` after `began`
/// (when closing began), then shuts the rest down and waits for their
/// handlers to return.
fn wait_for_connections(connections: &Connections, shutdown_timeout: Duration, began: Instant) {
    let left = shutdown_timeout.saturating_sub(began.elapsed());
    if connections.wait_idle(left) {
        return;
    }
    // Counted before: a request with nothing to shut down (a datagram's)
    // is still open.
    let stuck = connections.len();
    connections.close_all();
    emit!(
        log::Level::Warn,
        "{stuck} connection(s) still open {shutdown_timeout:?} after the server began to close: \
         shutting them down"
    );
    connections.wait_all();
}
