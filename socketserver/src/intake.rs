//! [`Intake`]: taking one request from the transport and making it a [`Job`]
//! (Python's `get_request`, then `verify_request`), for the server loop and
//! for a worker whose request is done.
//!
//! A model that follows ([`Threading`](crate::Threading), [`Pool`](crate::Pool))
//! gives each job a [`Feed`]: when the request is done, its worker takes the
//! next waiting request from the socket itself, if one is waiting, instead of
//! going back to wait for the loop to hand it one. Under load (a stream of
//! datagrams, many short connections) requests are then served without a
//! hand-over between threads (no wake-up, no switch from the loop's thread to
//! the worker's), as a single-threaded server serves them, while a slow
//! handler still holds up only its own client. The loop keeps accepting beside
//! the workers; whoever takes a request serves it through the same steps.
//!
//! A worker takes a request only while `serve_forever` runs and no shutdown
//! was asked for (`handle_request` serves exactly one), and only within
//! `max_connections`: the request's place in the registry is taken before the
//! accept, by the loop and the workers alike.

use crate::connections::Ticket;
use crate::error::Stage;
use crate::job::{Job, Shared, guarded, report};
use crate::request::Request;
use crate::service::{ClientAddr, Service};
use crate::shutdown::Control;
use crate::transport::{Transport, Yields};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// Requests a worker takes in a row at most while the ones it accepts are
/// each refused by `verify_request` or fail to be accepted, before it leaves
/// the rest to the loop.
const REFUSED_IN_A_ROW: usize = 64;

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
    control: Arc<Control>,
    /// Given to each job when the model follows.
    feed: Option<Weak<dyn Feed<S>>>,
    /// Set while `serve_forever` runs: workers take requests only then.
    serving: AtomicBool,
}

impl<T: Transport, S: Service> Intake<T, S> {
    pub(crate) fn transport(&self) -> &T {
        &self.transport
    }

    pub(crate) fn shared(&self) -> &Arc<Shared<S>> {
        &self.shared
    }

    /// Lets workers take requests until the guard drops (`serve_forever`).
    pub(crate) fn serving(&self) -> Serving<'_> {
        self.serving.store(true, Ordering::Release);
        Serving {
            serving: &self.serving,
        }
    }
}

impl<T, S> Intake<T, S>
where
    T: Yields<S::Request>,
    S: Service,
{
    /// `follow`: whether jobs carry a [`Feed`] (the model's choice).
    pub(crate) fn new(
        transport: T,
        shared: Arc<Shared<S>>,
        control: Arc<Control>,
        follow: bool,
    ) -> Arc<Intake<T, S>> {
        Arc::new_cyclic(|me: &Weak<Intake<T, S>>| {
            let feed: Option<Weak<dyn Feed<S>>> = if follow { Some(me.clone()) } else { None };
            Intake {
                transport,
                shared,
                control,
                feed,
                serving: AtomicBool::new(false),
            }
        })
    }

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
            Err(e) => Taken::Failed(e),
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
            Ok(true) => Taken::Job(Job::new(
                conn,
                client,
                &self.shared,
                ticket,
                self.feed.clone(),
            )),
            Ok(false) => {
                S::Request::refuse(conn);
                Taken::Refused
            }
            Err(e) => {
                report(service, &client, e);
                S::Request::refuse(conn);
                Taken::Refused
            }
        }
    }
}

/// Where a worker whose request is done takes the next one (an [`Intake`],
/// whatever its transport).
pub(crate) trait Feed<S: Service>: Send + Sync {
    /// The next waiting request, if workers may take one now and one is
    /// waiting. Errors are the loop's to act on (it accepts too, and backs
    /// off when the process is short of descriptors): the worker only stops.
    fn next(&self) -> Option<Job<S>>;
}

impl<T, S> Feed<S> for Intake<T, S>
where
    T: Yields<S::Request>,
    S: Service,
{
    fn next(&self) -> Option<Job<S>> {
        for _ in 0..REFUSED_IN_A_ROW {
            if !self.serving.load(Ordering::Acquire) || self.control.shutdown_requested() {
                return None;
            }
            match self.take() {
                Taken::Job(job) => return Some(job),
                Taken::Refused => {}
                Taken::Full => return None,
                Taken::Failed(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Taken::Failed(e) => {
                    log::debug!(
                        "accept on {:?} from a worker: {e}; the worker leaves it to the loop",
                        self.transport.local_addr()
                    );
                    return None;
                }
            }
        }
        None
    }
}

/// `serve_forever` running: workers may take requests until it drops.
pub(crate) struct Serving<'a> {
    serving: &'a AtomicBool,
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.serving.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::Connections;
    use crate::request::DatagramRequest;
    use crate::selector::Selector;
    use crate::shutdown::ShutdownHandle;
    use crate::transport::{Udp, UdpOptions};
    use std::net::{SocketAddr, UdpSocket};
    use std::time::Duration;

    struct Ignore;

    impl Service for Ignore {
        type Request = DatagramRequest;

        fn handle(&self, _: &mut DatagramRequest) -> io::Result<()> {
            Ok(())
        }
    }

    /// An intake on a UDP socket of loopback, whose jobs follow, and a client
    /// that has sent it `datagrams`.
    fn intake(datagrams: usize) -> (Arc<Intake<Udp, Ignore>>, Arc<Control>, UdpSocket) {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let options = UdpOptions::default();
        let socket = Udp::new_socket(&addr, &options).unwrap();
        let addr = Udp::bind_socket(&socket, &addr, &options).unwrap();
        let transport = Udp::activate(socket, &options).unwrap();
        let connections = Arc::new(Connections::default());
        let (_, waker) = Selector::new().unwrap().waker(()).unwrap();
        let control = Arc::new(Control::new(
            waker,
            Arc::clone(&connections),
            Duration::ZERO,
            format!("{addr}"),
        ));
        let shared = Arc::new(Shared {
            service: Ignore,
            config: Default::default(),
            connections,
        });
        let intake = Intake::new(transport, shared, Arc::clone(&control), true);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..datagrams {
            client.send_to(b"waiting", addr).unwrap();
        }
        (intake, control, client)
    }

    #[test]
    fn workers_take_requests_only_while_the_loop_serves() {
        let (intake, _control, _client) = intake(2);
        assert!(intake.next().is_none(), "taken outside serve_forever");
        let serving = intake.serving();
        let job = intake
            .next()
            .expect("a waiting datagram, taken while serving");
        drop(serving);
        assert!(intake.next().is_none(), "taken after serve_forever");
        drop(job);
    }

    #[test]
    fn workers_take_no_request_once_a_shutdown_is_asked_for() {
        let (intake, control, _client) = intake(1);
        let _serving = intake.serving();
        // No loop runs: the shutdown is only recorded, for the loop to see.
        ShutdownHandle { control }.shutdown();
        assert!(intake.next().is_none());
    }
}
