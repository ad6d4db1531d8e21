//! [`Job`]: one accepted request on its way through `setup`, `handle` and
//! `finish` (Python's `finish_request` and `shutdown_request`), wherever the
//! concurrency model chooses to run it.

use crate::connections::{Connections, Ticket};
use crate::error::{RequestError, Stage};
use crate::report::{catch_panic, emit};
use crate::request::{Request, RequestConfig};
use crate::service::{ClientAddr, Service};
use std::fmt;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// What every request of a server shares: the service and the settings.
pub(crate) struct Shared<S> {
    pub(crate) service: S,
    pub(crate) config: RequestConfig,
    pub(crate) connections: Arc<Connections>,
}

/// A job taken apart: see [`Job::into_parts`].
pub(crate) type Parts<S> = (
    <<S as Service>::Request as Request>::Conn,
    ClientAddr<S>,
    Arc<Shared<S>>,
    Ticket,
);

/// An accepted request, waiting to be served by [`Job::run`].
///
/// The concurrency model decides where `run` happens: inline in the server
/// loop, on a thread of its own, in a pool, in a child process. Dropping a job
/// instead closes its connection unserved.
pub struct Job<S: Service> {
    conn: <S::Request as Request>::Conn,
    client: ClientAddr<S>,
    shared: Arc<Shared<S>>,
    ticket: Ticket,
}

impl<S: Service> Job<S> {
    pub(crate) fn new(
        conn: <S::Request as Request>::Conn,
        client: ClientAddr<S>,
        shared: &Arc<Shared<S>>,
        ticket: Ticket,
    ) -> Job<S> {
        Job {
            conn,
            client,
            ticket,
            shared: Arc::clone(shared),
        }
    }

    /// The client the request comes from.
    pub fn client_address(&self) -> &ClientAddr<S> {
        &self.client
    }

    /// Serves the request: `setup`, `handle`, `finish`, then sends what is
    /// buffered and closes. Every error and panic goes to `handle_error`; none
    /// escapes.
    pub fn run(self) {
        let (conn, client, shared, ticket) = self.into_parts();
        serve(conn, client, &shared, |req| {
            if let Some(closer) = req.closer() {
                ticket.attach(closer);
            }
            req.join(ticket.id(), ticket.switchboard());
        });
        // The ticket goes last, so a waiting `server_close` returns only once the
        // connection is closed.
        drop(ticket);
    }

    /// [`run`](Job::run), in a child process made by `fork` to serve this one
    /// request: returns whether every step succeeded (the child's exit status).
    ///
    /// The registry of open requests belongs to the parent, which keeps this
    /// request's place there for the child's life ([`into_ticket`](Job::into_ticket)).
    /// Here its ticket is forgotten, not dropped: dropping takes the registry's
    /// lock, which another thread of the parent may have held at the fork and
    /// which no thread of this process would ever release.
    pub(crate) fn run_in_child(self) -> bool {
        let (conn, client, shared, ticket) = self.into_parts();
        std::mem::forget(ticket);
        serve(conn, client, &shared, |_| {})
    }

    /// The request's parts, for a model that opens and serves it itself
    /// (an event loop): the connection, the client, what the server's
    /// requests share, and the request's place in the registry.
    pub(crate) fn into_parts(self) -> Parts<S> {
        let Job {
            conn,
            client,
            shared,
            ticket,
        } = self;
        (conn, client, shared, ticket)
    }

    /// Lets go of the connection in this process (closing this process's copy
    /// of it: a child that was forked has its own) and keeps the request's
    /// place in the registry, for a request served elsewhere.
    pub(crate) fn into_ticket(self) -> Ticket {
        let Job { conn, ticket, .. } = self;
        drop(conn);
        ticket
    }
}

/// Opens the request, runs `setup`, `handle`, `finish` and closes it, passing
/// it to `opened` once it is open (to record it in the registry); every error
/// and panic goes to `handle_error`. Returns whether every step succeeded.
fn serve<S: Service>(
    conn: <S::Request as Request>::Conn,
    client: ClientAddr<S>,
    shared: &Shared<S>,
    opened: impl FnOnce(&mut S::Request),
) -> bool {
    let service = &shared.service;
    let mut req = match S::Request::open(conn, client.clone(), &shared.config) {
        Ok(req) => req,
        Err(e) => {
            report(service, &client, RequestError::io(Stage::Open, e));
            return false;
        }
    };
    opened(&mut req);
    let mut ok = true;
    let mut failed = |e| {
        ok = false;
        report(service, &client, e);
    };
    match guarded(Stage::Setup, || service.setup(&mut req)) {
        Ok(()) => {
            handle(service, &mut req).unwrap_or_else(&mut failed);
            guarded(Stage::Finish, || service.finish(&mut req)).unwrap_or_else(&mut failed);
        }
        Err(e) => failed(e),
    }
    match req.close() {
        Ok(()) => ok,
        // After a failed step, closing mostly fails for the same reason (a reset
        // or shut down connection): report only what is new.
        Err(e) => {
            if ok {
                report(service, &client, RequestError::io(Stage::Close, e));
            }
            false
        }
    }
}

/// Calls `handle`: once, or for a request served in turns (a buffer-shaped
/// handler), each time input comes and once more at its end, until the
/// handler closes the connection or there is nothing more to come.
fn handle<S: Service>(service: &S, req: &mut S::Request) -> Result<(), RequestError> {
    if !<S::Request as Request>::TURNS {
        return guarded(Stage::Handle, || service.handle(req));
    }
    loop {
        match req.next_turn() {
            Ok(true) => guarded(Stage::Handle, || service.handle(req))?,
            Ok(false) => return Ok(()),
            Err(e) => return Err(RequestError::io(Stage::Handle, e)),
        }
    }
}

impl<S: Service> fmt::Debug for Job<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("client_address", &self.client)
            .finish_non_exhaustive()
    }
}

/// Runs one step of serving a request, turning a panic into an error.
pub(crate) fn guarded<T>(
    stage: Stage,
    step: impl FnOnce() -> io::Result<T>,
) -> Result<T, RequestError> {
    match catch_panic(AssertUnwindSafe(step)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(RequestError::io(stage, e)),
        Err(panic) => Err(RequestError::caught(stage, panic)),
    }
}

/// Hands an error to the service's `handle_error`, which must not bring the
/// server down either.
pub(crate) fn report<S: Service>(service: &S, client: &ClientAddr<S>, error: RequestError) {
    let reported = catch_panic(AssertUnwindSafe(|| service.handle_error(client, &error)));
    if let Err(panic) = reported {
        emit!(
            log::Level::Error,
            "`handle_error` {panic} while reporting an error of {client:?}: {error}"
        );
    }
}

/// Runs a hook of the server loop (`service_actions`, `handle_timeout`); a panic
/// in it is logged and the loop goes on.
pub(crate) fn run_hook(name: &str, hook: impl FnOnce()) {
    if let Err(panic) = catch_panic(AssertUnwindSafe(hook)) {
        emit!(log::Level::Error, "`{name}` {panic}");
    }
}
