//! [`Builder`]: a server's settings before it binds, and [`Unbound`]: a server
//! whose socket exists but is not bound yet.

use crate::concurrency::Concurrency;
use crate::connections::Connections;
use crate::job::Shared;
use crate::request::RequestConfig;
use crate::server::Server;
use crate::service::Service;
use crate::transport::Transport;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Settings that hold for every transport and concurrency model.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) poll_interval: Duration,
    pub(crate) accept_timeout: Option<Duration>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) request: RequestConfig,
}

impl Settings {
    /// Rejects what the socket layer would take for something else: to
    /// `setsockopt`, a zero timeout means "no timeout", and std refuses it.
    pub(crate) fn validate(&self) -> io::Result<()> {
        if self.request.timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the per-connection `timeout` must be above zero (`None` waits forever)",
            ));
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            poll_interval: Duration::from_millis(500),
            accept_timeout: None,
            shutdown_timeout: Duration::from_secs(5),
            request: RequestConfig::default(),
        }
    }
}

/// A server's configuration before it binds: made by [`Server::builder`],
/// finished by the transport's `bind` (e.g. [`Builder::bind`] for TCP).
///
/// Options that belong to one transport or one concurrency model exist only on
/// builders of that transport or model, so a misplaced option does not compile.
///
/// ```no_run
/// use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
/// use std::time::Duration;
///
/// let server = ThreadingTcpServer::builder(handler_fn(|_req: &mut StreamRequest| Ok(())))
///     .backlog(4096)
///     .nodelay(true)
///     .timeout(Some(Duration::from_secs(30)))
///     .daemon_threads(true)
///     .bind("[::1]:0")?;
/// println!("listening on {}", server.server_address());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder<T: Transport, C, S> {
    pub(crate) service: S,
    pub(crate) concurrency: C,
    pub(crate) transport: T::Options,
    pub(crate) settings: Settings,
}

impl<T: Transport, C: Concurrency, S: Service> Builder<T, C, S> {
    pub(crate) fn new(service: S, concurrency: C) -> Self {
        Builder {
            service,
            concurrency,
            transport: T::Options::default(),
            settings: Settings::default(),
        }
    }

    /// How long `serve_forever` waits at most between two turns, each of which
    /// runs `service_actions` (default 500 ms). A shutdown does not wait for it.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval;
        self
    }

    /// The read and write timeout of every connection (default `None`: wait
    /// forever). A handler whose client stays silent that long gets an error
    /// from its read. Binding fails with [`io::ErrorKind::InvalidInput`] for
    /// `Some(Duration::ZERO)`.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.request.timeout = timeout;
        self
    }

    /// How long [`Server::handle_request`] waits for a request before it calls
    /// `handle_timeout` and returns (Python's `BaseServer.timeout`; default
    /// `None`: wait forever).
    pub fn accept_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.accept_timeout = timeout;
        self
    }

    /// How long a stopping server waits for open connections before it shuts
    /// them down so that their handlers return (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings.shutdown_timeout = timeout;
        self
    }

    /// Replaces the concurrency model, with its own settings.
    pub fn concurrency<C2: Concurrency>(self, concurrency: C2) -> Builder<T, C2, S> {
        Builder {
            service: self.service,
            concurrency,
            transport: self.transport,
            settings: self.settings,
        }
    }

    /// Replaces the transport's options wholesale.
    pub fn transport_options(mut self, options: T::Options) -> Self {
        self.transport = options;
        self
    }

    /// Makes the server around a bound, listening transport.
    /// Transports call [`Settings::validate`] before they create a socket.
    pub(crate) fn build(self, transport: T) -> io::Result<Server<T, C, S>> {
        let shared = Arc::new(Shared {
            service: self.service,
            config: self.settings.request.clone(),
            connections: Arc::new(Connections::default()),
        });
        Server::new(transport, self.concurrency, shared, &self.settings)
    }
}

impl<T: Transport, C: fmt::Debug, S> fmt::Debug for Builder<T, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("concurrency", &self.concurrency)
            .field("transport", &self.transport)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A server whose socket is created but not yet bound (Python's
/// `bind_and_activate=False`); made by the transport's `unbound`
/// (e.g. [`Builder::unbound`] for TCP).
pub struct Unbound<T: Transport, C, S> {
    pub(crate) socket: socket2::Socket,
    pub(crate) addr: T::Addr,
    pub(crate) bound: bool,
    pub(crate) builder: Builder<T, C, S>,
}

impl<T: Transport, C: fmt::Debug, S> fmt::Debug for Unbound<T, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unbound")
            .field("socket", &self.socket)
            .field("addr", &self.addr)
            .field("bound", &self.bound)
            .field("builder", &self.builder)
            .finish()
    }
}
