//! A buffer-shaped connection ([`Conn`]) served by an event loop: read when
//! the socket is readable, call the handler on what came, write at once,
//! keep what the socket did not take for when it is writable, and stop
//! reading while too much is queued.

use super::worker::{Buffers, Drive, Next, Open, Readiness, Remote};
use crate::connections::Ticket;
use crate::error::{RequestError, Stage};
use crate::job::{Job, Shared, guarded, report};
use crate::request::{Conn, ConnState, Filled, Request, Stream};
use crate::service::Service;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Past this much queued output, the loop stops reading from the connection
/// (and so stops calling its handler) until the client has taken some: a
/// client that sends but never reads cannot grow the server's memory
/// without bound.
pub(super) const HIGH_WATER: usize = 256 * 1024;
/// Reading starts again once the queued output is down to this.
const LOW_WATER: usize = HIGH_WATER / 4;
/// Past this much queued output, bytes other connections send to this one
/// ([`Conn::send_to`], [`Conn::broadcast`]) close it instead: its client is
/// not reading, and a chat server must not keep growing its backlog.
pub(super) const SEND_LIMIT: usize = 16 * HIGH_WATER;

/// An accepted connection, handed to a worker.
pub(super) struct Opening<S: Service>(pub(super) Job<S>);

impl<St, Stm, S> Open for Opening<S>
where
    St: ConnState,
    Stm: Stream,
    S: Service<Request = Conn<St, Stm>>,
{
    fn open(self: Box<Self>, now: Instant) -> Option<Box<dyn Drive>> {
        let (stream, client, shared, ticket) = self.0.into_parts();
        let service = &shared.service;
        let opened = Conn::open_for_loop(stream, client.clone());
        let mut conn = match opened {
            Ok(conn) => conn,
            Err(e) => {
                report(service, &client, RequestError::io(Stage::Open, e));
                return None;
            }
        };
        conn.join(ticket.id(), ticket.switchboard());
        let setup = guarded(Stage::Setup, || service.setup(&mut conn));
        let mut driven = Box::new(Driven {
            conn,
            timeout: shared.config.timeout,
            shared,
            ticket,
            readable: false,
            read_closed: false,
            paused: false,
            stopping: false,
            failed: false,
            set_up: setup.is_ok(),
            scheduled: false,
            last_active: now,
        });
        if let Err(e) = setup {
            driven.fail(e);
            driven.end();
            return None;
        }
        Some(driven)
    }
}

/// A connection on its worker.
struct Driven<S: Service> {
    conn: S::Request,
    shared: Arc<Shared<S>>,
    /// Last: dropping it tells the registry the connection is closed.
    ticket: Ticket,
    timeout: Option<Duration>,
    /// Whether input may be waiting: an edge was seen and the reads since
    /// did not find the socket empty.
    readable: bool,
    /// Whether the client's end of input (or an error) was seen: from then
    /// on a short read does not mean the socket is empty, as the end of
    /// input is still to be read and raises no new edge.
    read_closed: bool,
    /// Whether reading stopped because too much output is queued.
    paused: bool,
    /// Whether the server is closing.
    stopping: bool,
    /// Whether an error was reported: closing then reports nothing more.
    failed: bool,
    /// Whether `setup` succeeded, so that `finish` is due.
    set_up: bool,
    /// Whether the worker holds a turn for it ([`Next::Again`]): a turn on
    /// an event meanwhile only notes what the socket is ready for.
    scheduled: bool,
    /// When the client last sent something or took some output.
    last_active: Instant,
}

impl<St, Stm, S> Driven<S>
where
    St: ConnState,
    Stm: Stream,
    S: Service<Request = Conn<St, Stm>>,
{
    fn fail(&mut self, error: RequestError) {
        self.failed = true;
        let client = self.conn.client_address().clone();
        report(&self.shared.service, &client, error);
    }

    /// Writes what is queued; `Close` when the connection is broken.
    fn write(&mut self, now: Instant) -> Option<Next> {
        let queued = self.conn.queued();
        let written = self.conn.write_ready();
        self.wrote(queued, now);
        match written {
            Ok(_) => None,
            Err(e) => {
                self.fail(RequestError::io(Stage::Handle, e));
                Some(Next::Close)
            }
        }
    }

    /// A client that takes output is not idle.
    fn wrote(&mut self, queued_before: usize, now: Instant) {
        if self.conn.queued() < queued_before {
            self.last_active = now;
        }
    }

    /// What to do once a turn has written what it could: `more_input` when
    /// the socket may hold more.
    fn next(&mut self, more_input: bool) -> Next {
        let queued = self.conn.queued();
        if (self.stopping || self.conn.is_done()) && queued == 0 {
            return Next::Close;
        }
        if queued > HIGH_WATER {
            self.paused = true;
        }
        // A call the handler is owed with no new input (it left a request
        // for when its replies had gone, or asked to resume once they had)
        // needs a turn, as no event may come for it.
        let due = more_input || self.conn.call_due();
        if due && !self.paused && !self.stopping && !self.scheduled {
            self.scheduled = true;
            Next::Again
        } else {
            Next::Wait
        }
    }
}

impl<St, Stm, S> Drive for Driven<S>
where
    St: ConnState,
    Stm: Stream,
    S: Service<Request = Conn<St, Stm>>,
{
    fn fd(&self) -> RawFd {
        self.conn.stream().as_fd().as_raw_fd()
    }

    fn attach(&mut self, remote: Arc<Remote>) {
        self.ticket.attach(remote);
    }

    fn turn(&mut self, buffers: &mut Buffers, readiness: Readiness) -> Next {
        if readiness.writable
            && self.conn.queued() > 0
            && let Some(next) = self.write(buffers.now)
        {
            return next;
        }
        if self.stopping {
            return self.next(false);
        }
        self.readable |= readiness.readable;
        self.read_closed |= readiness.read_closed;
        if readiness.again {
            self.scheduled = false;
        } else if self.scheduled {
            // Its turn comes after the others'.
            return Next::Wait;
        }
        if self.paused {
            if self.conn.queued() > LOW_WATER {
                return Next::Wait;
            }
            // Input that came meanwhile raised no new edge.
            self.paused = false;
            self.readable = true;
        }
        let mut more = false;
        if self.readable {
            match self.conn.read_ready(&mut buffers.input) {
                Ok(Filled::Read { more: full }) => {
                    self.last_active = buffers.now;
                    // A short read emptied the socket: the next input raises
                    // an edge, so no read is spent to hear "would block".
                    self.readable = full || self.read_closed;
                    more = self.readable;
                }
                Ok(Filled::Blocked) => self.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => more = true,
                Err(e) => {
                    self.conn.settle(&mut buffers.input, &mut buffers.output);
                    self.fail(RequestError::io(Stage::Handle, e));
                    return Next::Close;
                }
            }
        }
        let service = &self.shared.service;
        let handled = self
            .conn
            .handle_ready(&mut buffers.output, HIGH_WATER, |conn| {
                guarded(Stage::Handle, || service.handle(conn))
            });
        // Written before the buffers go back: the usual reply leaves from
        // the worker's buffer and the connection keeps none.
        let queued = self.conn.queued();
        let written = self.conn.write_ready();
        self.wrote(queued, buffers.now);
        self.conn.settle(&mut buffers.input, &mut buffers.output);
        if let Err(e) = handled {
            self.fail(e);
            return Next::Close;
        }
        if let Err(e) = written {
            self.fail(RequestError::io(Stage::Handle, e));
            return Next::Close;
        }
        self.next(more)
    }

    fn deliver(&mut self, buffers: &mut Buffers, bytes: &[u8]) -> Next {
        if self.conn.queued() + bytes.len() > SEND_LIMIT {
            self.refuse_sends(bytes.len());
            return Next::Close;
        }
        self.conn.write(bytes);
        if let Some(next) = self.write(buffers.now) {
            return next;
        }
        self.conn.settle(&mut buffers.input, &mut buffers.output);
        self.next(false)
    }

    fn refuse_sends(&mut self, more: usize) {
        let error = io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "other connections sent {more} bytes that would take its queue past \
                 {SEND_LIMIT} bytes ({} queued, to a client that does not keep up): closing \
                 the connection rather than queueing them",
                self.conn.queued()
            ),
        );
        self.fail(RequestError::io(Stage::Handle, error));
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn last_active(&self) -> Instant {
        self.last_active
    }

    fn time_out(&mut self, timeout: Duration) {
        let error = io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no input, and no output taken, for {timeout:?} (the connection's timeout)"),
        );
        self.fail(RequestError::io(Stage::Handle, error));
    }

    fn stop(&mut self) -> Next {
        self.stopping = true;
        self.next(false)
    }

    fn end(self: Box<Self>) {
        let Driven {
            mut conn,
            shared,
            ticket,
            mut failed,
            set_up,
            ..
        } = *self;
        let service = &shared.service;
        let client = conn.client_address().clone();
        if set_up && let Err(e) = guarded(Stage::Finish, || service.finish(&mut conn)) {
            failed = true;
            report(service, &client, e);
        }
        // What `finish` wrote, and what is left, as far as the socket takes
        // it now: a closing server does not wait on one client.
        match conn.close() {
            Err(e) if !failed && e.kind() != io::ErrorKind::WouldBlock => {
                report(service, &client, RequestError::io(Stage::Close, e));
            }
            _ => {}
        }
        drop(ticket);
    }
}
