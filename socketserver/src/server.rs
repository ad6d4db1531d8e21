//! [`Server`]: a transport, a concurrency model and a service, composed; the
//! selector loop that accepts requests and hands them on (Python's `BaseServer`).

use crate::accept::{Backoff, Recovery, recovery};
use crate::concurrency::{Concurrency, Drives};
use crate::connections::Connections;
use crate::error::{RequestError, Stage};
use crate::intake::{Intake, Taken};
use crate::job::{Job, Shared, report, run_hook};
use crate::report::emit;
use crate::selector::{Events, Interest, Key, Selector};
use crate::service::Service;
use crate::settings::Settings;
use crate::shutdown::{Control, ShutdownHandle};
use crate::signals::Registration;
use crate::transport::{Transport, Yields};
use mio::unix::SourceFd;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many connections one turn of the loop accepts at most before it runs
/// `service_actions` and looks at its wake-ups again.
const ACCEPT_BATCH: usize = 128;

/// A server: transport `T` (where requests come from), concurrency `C` (where
/// they run) and service `S` (what is done with them).
///
/// Usually named through an alias such as [`ThreadingTcpServer`](crate::ThreadingTcpServer),
/// or made for you by the `#[server]` attribute.
///
/// ```no_run
/// use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
/// use std::io::{self, Write};
///
/// let hello = handler_fn(|req: &mut StreamRequest| {
///     let client = *req.client_address();
///     writeln!(req.wfile(), "hello, {client}")
/// });
/// let mut server = ThreadingTcpServer::bind("127.0.0.1:8000", hello)?;
/// server.serve_forever()
/// # ; Ok::<(), io::Error>(())
/// ```
///
/// Dropping the server (or [`server_close`](Server::server_close)) closes the
/// listening socket, then waits for the requests still being served as the
/// concurrency model is configured to.
pub struct Server<T: Transport, C: Concurrency, S: Service> {
    // Fields drop in this order: the listening socket closes before `workers`
    // waits for the requests still running, so that no client is left queueing
    // on a server that will never accept it.
    intake: Intake<T, S>,
    selector: Selector<Role>,
    events: Events,
    listener: Key,
    control: Arc<Control>,
    /// Whether connections may be waiting in the listen queue (edge-triggered:
    /// only a `WouldBlock` from accept says they are not).
    pending: bool,
    /// Per-connection accept errors in a row; past a batch of them, pause as
    /// for any other error rather than spin on one that does not go away.
    skipped: usize,
    backoff: Backoff,
    poll_interval: Duration,
    accept_timeout: Option<Duration>,
    workers: Workers<C>,
    /// Last: a second signal must still end the process while `workers` waits.
    signals: Option<Registration>,
}

/// What a registration of the server's selector stands for.
#[derive(Debug)]
enum Role {
    Listener,
    Waker,
}

/// The concurrency model, which waits for its requests when dropped.
struct Workers<C: Concurrency> {
    concurrency: C,
    connections: Arc<Connections>,
    shutdown_timeout: Duration,
}

impl<C: Concurrency> Drop for Workers<C> {
    fn drop(&mut self) {
        self.concurrency
            .close(&self.connections, self.shutdown_timeout);
    }
}

/// The outcome of one accept attempt.
enum Accepted {
    /// A request was accepted and dispatched (or refused by `verify_request`).
    One,
    /// No connection is waiting.
    None,
    /// `max_connections` are open; the connection is left waiting.
    Full,
    /// Accept failed; the loop may try again (after the backoff, if one started).
    Failed,
}

impl<T: Transport, C: Concurrency, S: Service> Server<T, C, S> {
    pub(crate) fn new(
        transport: T,
        mut concurrency: C,
        shared: Arc<Shared<S>>,
        settings: &Settings,
    ) -> io::Result<Self> {
        let mut selector = Selector::new()?;
        let fd = transport.as_fd().as_raw_fd();
        let listener = selector.register(&mut SourceFd(&fd), Interest::READABLE, Role::Listener)?;
        let (_, waker) = selector.waker(Role::Waker)?;
        concurrency.attach(waker.clone())?;
        let connections = Arc::clone(&shared.connections);
        connections.attach(waker.clone());
        let control = Arc::new(Control::new(
            waker,
            Arc::clone(&connections),
            settings.shutdown_timeout,
            format!("{:?}", transport.local_addr()),
        ));
        Ok(Server {
            intake: Intake::new(transport, shared),
            selector,
            events: Events::with_capacity(8),
            listener,
            control,
            // A listener adopted with connections already queued gives no event
            // for them: look before the first wait.
            pending: true,
            skipped: 0,
            backoff: Backoff::default(),
            poll_interval: settings.poll_interval,
            accept_timeout: settings.accept_timeout,
            workers: Workers {
                concurrency,
                connections,
                shutdown_timeout: settings.shutdown_timeout,
            },
            signals: None,
        })
    }

    /// The address the server listens on, with the real port when it was bound
    /// to port 0 (Python's `server_address`).
    pub fn server_address(&self) -> &T::Addr {
        self.intake.transport().local_addr()
    }

    /// The service, i.e. the server's shared state.
    pub fn service(&self) -> &S {
        &self.intake.shared().service
    }

    /// A handle that stops `serve_forever` from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            control: Arc::clone(&self.control),
        }
    }

    /// Stops the server gracefully on SIGINT (Ctrl-C) or SIGTERM (`kill`, a
    /// service manager) instead of letting the signal kill the process.
    ///
    /// The first signal is a [`shutdown`](ShutdownHandle::shutdown):
    /// `serve_forever` returns, and closing the server then waits for the
    /// requests still open, shutting down those still open `shutdown_timeout`
    /// later. A second signal ends the process at once, as the signal does by
    /// default. Once the server is dropped (and no other server of the process
    /// asks for them), the signals end the process again as by default.
    ///
    /// Only [`serve_forever`](Server::serve_forever) is stopped: a loop of
    /// your own around [`handle_request`](Server::handle_request) is not told,
    /// and only the second signal ends it. A SIGINT the process was started
    /// with ignored (`nohup`, a background job) is caught all the same.
    ///
    /// ```no_run
    /// use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
    /// use std::io::{self, Write};
    ///
    /// let hello = handler_fn(|req: &mut StreamRequest| req.wfile().write_all(b"hello\n"));
    /// ThreadingTcpServer::bind("127.0.0.1:8000", hello)?
    ///     .shutdown_on_signals()?
    ///     .serve_forever()
    /// # ; Ok::<(), io::Error>(())
    /// ```
    ///
    /// Built on [`signal-hook`](https://docs.rs/signal-hook): one set of handlers
    /// and one thread serve every server of the process that asks for this.
    ///
    /// # Errors
    ///
    /// When the signal handlers or their thread cannot be set up.
    pub fn shutdown_on_signals(&mut self) -> io::Result<&mut Self> {
        if self.signals.is_none() {
            self.signals = Some(Registration::new(self.shutdown_handle())?);
        }
        Ok(self)
    }

    /// How many requests are being served right now.
    pub fn open_requests(&self) -> usize {
        self.workers.connections.len()
    }

    /// The concurrency model, as configured (to inspect it, e.g.
    /// [`Threading::threads`](crate::Threading::threads)).
    pub fn concurrency(&self) -> &C {
        &self.workers.concurrency
    }

    /// Closes the listening socket and waits for the requests still being
    /// served, as the concurrency model is configured to (Python's
    /// `server_close`). Dropping the server does the same.
    pub fn server_close(self) {}
}

impl<T, C, S> Server<T, C, S>
where
    T: Transport,
    C: Concurrency + Drives<S::Request>,
    S: Service,
    T: Yields<S::Request>,
{
    /// Serves requests until [`ShutdownHandle::shutdown`] is called.
    ///
    /// Each turn waits for connections (or a wake-up) for at most the server's
    /// `poll_interval`, accepts what is waiting, hands each request to the
    /// concurrency model, and runs `service_actions`. While the model is full
    /// (a [`Pool`](crate::Pool), or [`Forking`](crate::Forking) at
    /// `max_children`) or `max_connections` are open, it accepts
    /// nothing: connections wait in the kernel's backlog until a request
    /// ends and wakes the loop (a child that ended is found by the next turn,
    /// within `poll_interval`). Accept errors never end it: per-connection
    /// errors are skipped, and when the process runs out of descriptors or
    /// memory it logs, pauses (10 ms, doubling up to 1 s) and tries again.
    /// Only a failure of the selector itself is returned.
    pub fn serve_forever(&mut self) -> io::Result<()> {
        let control = Arc::clone(&self.control);
        let _running = control.enter();
        loop {
            if control.shutdown_requested() {
                return Ok(());
            }
            let wait = self.accept_wait(self.poll_interval);
            self.selector.select(&mut self.events, Some(wait))?;
            // A shutdown that came with connections must not accept one more.
            if control.shutdown_requested() {
                return Ok(());
            }
            self.note_events();
            for _ in 0..ACCEPT_BATCH {
                if !self.may_accept() || control.shutdown_requested() {
                    break;
                }
                if let Accepted::None | Accepted::Full = self.accept_one() {
                    break;
                }
            }
            self.service_actions();
        }
    }

    /// Waits for one request and serves it (with the concurrency model), or,
    /// when the server's `accept_timeout` passes first, calls `handle_timeout`
    /// (Python's `handle_request`).
    pub fn handle_request(&mut self) -> io::Result<()> {
        let deadline = self
            .accept_timeout
            .and_then(|timeout| Instant::now().checked_add(timeout));
        loop {
            // The model's housekeeping (reaping finished threads or children),
            // as on every turn of `serve_forever`: a server driven only by
            // this keeps no more, and a model waiting for capacity gets it back.
            self.workers.concurrency.service_actions();
            if self.may_accept()
                && let Accepted::One = self.accept_one()
            {
                return Ok(());
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                self.handle_timeout();
                return Ok(());
            }
            if self.may_accept() {
                continue;
            }
            // Without capacity, look again at least every `poll_interval`
            // (a model wakes the loop when capacity returns, but reaping
            // happens here).
            let capacity_wait = (!self.has_capacity()).then_some(self.poll_interval);
            let wait = [left, self.backoff.remaining(), capacity_wait]
                .into_iter()
                .flatten()
                .min();
            self.selector.select(&mut self.events, wait)?;
            self.note_events();
        }
    }

    fn note_events(&mut self) {
        if self.events.iter().any(|ready| ready.key() == self.listener) {
            self.pending = true;
        }
    }

    /// Whether to accept now: connections may be waiting, no pause after an
    /// accept error is running, and the server can take one more.
    fn may_accept(&self) -> bool {
        self.pending && self.backoff.remaining().is_none() && self.has_capacity()
    }

    /// Whether the concurrency model can take one more request, and fewer
    /// than `max_connections` are open. When not, connections wait in the
    /// kernel's queue (the permit is taken before accepting), and the model,
    /// or the registry when a request ends, wakes the loop.
    fn has_capacity(&self) -> bool {
        self.workers.concurrency.has_capacity() && self.workers.connections.below_limit()
    }

    /// How long the loop may wait for events before it must act on its own.
    fn accept_wait(&self, poll_interval: Duration) -> Duration {
        match self.backoff.remaining() {
            Some(pause) => pause.min(poll_interval),
            None if self.may_accept() => Duration::ZERO,
            None => poll_interval,
        }
    }

    fn accept_one(&mut self) -> Accepted {
        match self.intake.take() {
            Taken::Job(job) => {
                self.accepted();
                self.process_request(job);
                Accepted::One
            }
            Taken::Refused => {
                self.accepted();
                Accepted::One
            }
            Taken::Full => Accepted::Full,
            Taken::Failed(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.skipped = 0;
                self.pending = false;
                Accepted::None
            }
            Taken::Failed(e) => {
                let addr = self.intake.transport().local_addr();
                let mut recovery = recovery(&e);
                if recovery == Recovery::Skip {
                    self.skipped += 1;
                    if self.skipped >= ACCEPT_BATCH {
                        self.skipped = 0;
                        recovery = Recovery::Pause;
                    }
                }
                match recovery {
                    Recovery::Skip => {
                        log::debug!("accept on {addr:?}: {e}; accepting the next connection");
                    }
                    Recovery::Pause => {
                        let pause = self.backoff.pause();
                        emit!(
                            log::Level::Error,
                            "accept on {addr:?} failed: {e}; trying again in {pause:?}"
                        );
                    }
                }
                Accepted::Failed
            }
        }
    }

    fn accepted(&mut self) {
        self.skipped = 0;
        self.backoff.reset();
    }

    /// Python's `process_request`: hands the job to the concurrency model.
    fn process_request(&mut self, job: Job<S>) {
        let client = job.client_address().clone();
        if let Err(e) = self.workers.concurrency.process(job) {
            // Out of threads, processes or memory: the next request would fail
            // the same way, so pause accepting as after such an accept error,
            // rather than drain the backlog into closed connections.
            if recovery(&e) == Recovery::Pause {
                let pause = self.backoff.pause();
                emit!(
                    log::Level::Error,
                    "cannot start serving a request ({e}); accepting again in {pause:?}"
                );
            }
            let service = &self.intake.shared().service;
            report(service, &client, RequestError::io(Stage::Dispatch, e));
        }
    }

    fn service_actions(&mut self) {
        self.workers.concurrency.service_actions();
        let service = &self.intake.shared().service;
        run_hook("service_actions", || service.service_actions());
    }

    fn handle_timeout(&mut self) {
        let service = &self.intake.shared().service;
        run_hook("handle_timeout", || service.handle_timeout());
    }
}

impl<T: Transport, C: Concurrency, S: Service> AsFd for Server<T, C, S> {
    /// The listening socket (Python's `fileno()`).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.intake.transport().as_fd()
    }
}

impl<T: Transport, C: Concurrency, S: Service> AsRawFd for Server<T, C, S> {
    fn as_raw_fd(&self) -> RawFd {
        self.intake.transport().as_fd().as_raw_fd()
    }
}

impl<T: Transport, C: Concurrency + fmt::Debug, S: Service> fmt::Debug for Server<T, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("server_address", self.server_address())
            .field("concurrency", &self.workers.concurrency)
            .field("open_requests", &self.open_requests())
            .finish_non_exhaustive()
    }
}
