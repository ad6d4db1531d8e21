//! [`Intake`]: taking one request from the transport and making it a [`Job`]
//! (Python's `get_request`, then `verify_request`): the step of the server
//! loop that every concurrency model shares, whatever the transport.
//!
//! The request's place in the registry of open requests is taken before the
//! accept, so that at `max_connections` the connection is left waiting in the
//! kernel's queue rather than accepted and then closed.

use crate::connections::Ticket;
use crate::error::Stage;
use crate::job::{Job, Shared, guarded, report};
use crate::request::Request;
use crate::service::{ClientAddr, Service};
use crate::transport::{Transport, Yields};
use std::io;
use std::sync::Arc;

/// What one attempt to take a request gave.
pub(crate) enum Taken<S: Service> {
    /// A request to serve.
    Job(Job<S>),
    /// `verify_request` turned the request away; it is closed.
    Refused,
    /// `max_connections` are open: the request is left waiting.
    Full,
    /// The accept failed ([`io::ErrorKind::WouldBlock`]: none is waiting).
    Failed(io::Error),
}

/// The transport, and what every request needs to become a job.
pub(crate) struct Intake<T: Transport, S: Service> {
    transport: T,
    shared: Arc<Shared<S>>,
}

impl<T: Transport, S: Service> Intake<T, S> {
    pub(crate) fn new(transport: T, shared: Arc<Shared<S>>) -> Intake<T, S> {
        Intake { transport, shared }
    }

    pub(crate) fn transport(&self) -> &T {
        &self.transport
    }

    pub(crate) fn shared(&self) -> &Arc<Shared<S>> {
        &self.shared
    }
}

impl<T, S> Intake<T, S>
where
    T: Yields<S::Request>,
    S: Service,
{
    /// Takes one request: a place in the registry, then the accept, then
    /// `verify_request`.
    pub(crate) fn take(&self) -> Taken<S> {
        let Some(ticket) = self.shared.connections.try_reserve() else {
            return Taken::Full;
        };
        match self.transport.accept() {
            Ok((conn, client)) => {
                let (conn, client) = T::request_parts(conn, client);
                self.verify(conn, client, ticket)
            }
            Err(e) => {
                ticket.unused();
                Taken::Failed(e)
            }
        }
    }

    /// Python's `verify_request`: a job, or the request closed.
    fn verify(
        &self,
        conn: <S::Request as Request>::Conn,
        client: ClientAddr<S>,
        ticket: Ticket,
    ) -> Taken<S> {
        let service = &self.shared.service;
        match guarded(Stage::Verify, || Ok(service.verify_request(&client))) {
            Ok(true) => Taken::Job(Job::new(conn, client, &self.shared, ticket)),
            Ok(false) => {
                ticket.unused();
                S::Request::refuse(conn);
                Taken::Refused
            }
            Err(e) => {
                ticket.unused();
                report(service, &client, e);
                S::Request::refuse(conn);
                Taken::Refused
            }
        }
    }
}
