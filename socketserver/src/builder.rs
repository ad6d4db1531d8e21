//! [`Builder`]: a server's settings before it binds, the one place that binds
//! every transport; and [`Unbound`]: a server whose socket exists but is not
//! bound yet.

use crate::concurrency::{Concurrency, Drives, Event, Forking, Pool, Threading};
use crate::connections::Connections;
use crate::job::Shared;
use crate::server::Server;
use crate::service::Service;
use crate::settings::Settings;
use crate::transport::{
    BindAddr, ListenOptions, NodelayOptions, PacketOptions, ReuseOptions, Transport, Yields,
};
use socket2::Socket;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// A server's configuration before it binds: made by [`Server::builder`],
/// finished by [`bind`](Builder::bind) (or [`unbound`](Builder::unbound), or
/// [`from_listener`](Builder::from_listener)).
///
/// Options that belong to some transports only exist on builders of those
/// transports (`backlog` for the ones that listen, `nodelay` for TCP, …), so a
/// misplaced option does not compile.
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

impl<T: Transport, C: Concurrency + Default, S: Service> Server<T, C, S> {
    /// Starts the configuration of a server around `service`; finish it with
    /// [`Builder::bind`].
    pub fn builder(service: S) -> Builder<T, C, S> {
        Builder {
            service,
            concurrency: C::default(),
            transport: T::Options::default(),
            settings: Settings::default(),
        }
    }

    /// Binds a server to `addr` with the default options and activates it:
    /// Python's `TCPServer(addr, Handler)`, `UDPServer(addr, Handler)`, ….
    ///
    /// For TCP and UDP, `addr` is anything
    /// [`ToSocketAddrs`](std::net::ToSocketAddrs) takes: `"127.0.0.1:8000"`,
    /// `"[::1]:0"`, `("localhost", 8000)`; port 0 picks a free port, read it
    /// back with [`server_address`](Server::server_address). For the Unix
    /// transports it is a path (see [`BindAddr`]).
    ///
    /// # Errors
    ///
    /// As [`Builder::bind`].
    pub fn bind(addr: impl BindAddr<T>, service: S) -> io::Result<Self>
    where
        T: Yields<S::Request>,
        C: Drives<S::Request>,
    {
        Server::builder(service).bind(addr)
    }
}

impl<T: Transport, C: Concurrency, S: Service> Builder<T, C, S> {
    /// How long `serve_forever` waits at most between two turns, each of which
    /// runs `service_actions` (default 500 ms). A shutdown does not wait for it.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval;
        self
    }

    /// The read and write timeout of every connection (default `None`: wait
    /// forever). A handler whose client stays silent that long gets an error
    /// from its read; one whose client takes none of its output that long
    /// (a slow one is waited for) gets an error from the write. It also
    /// bounds how long bytes other connections send to one wait for its
    /// client ([`Conn::send_to`](crate::Conn::send_to); 5 s without it).
    /// Binding fails with [`io::ErrorKind::InvalidInput`] for
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

    /// At most this many connections open at once (default `None`: no
    /// limit). At the limit the server stops accepting: further connections
    /// wait in the kernel's listen queue (the `backlog`) until one ends, and
    /// none is refused. A connection counts from when it is accepted until its
    /// handler has returned and it is closed, including while it waits in a
    /// [`Pool`]'s queue. Binding fails with [`io::ErrorKind::InvalidInput`]
    /// for `Some(0)`.
    ///
    /// For the models that serve several connections at once: it bounds the
    /// threads of [`Threading`], the requests a [`Pool`] holds besides its
    /// own bound, and the children of [`Forking`](crate::Forking) besides
    /// `max_children`.
    pub fn max_connections(mut self, max: Option<usize>) -> Self
    where
        T::Options: ListenOptions,
    {
        self.settings.max_connections = max;
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

    /// The length of the queue of connections not yet accepted (Python's
    /// `request_queue_size`; default 1024, capped by the system's `somaxconn`).
    pub fn backlog(mut self, backlog: i32) -> Self
    where
        T::Options: ListenOptions,
    {
        self.transport.set_backlog(backlog);
        self
    }

    /// `SO_REUSEADDR`: rebind at once an address whose earlier connections are
    /// in `TIME_WAIT` (Python's `allow_reuse_address`; default on for TCP, off
    /// for UDP, where it would let another socket share the address).
    pub fn reuse_address(mut self, on: bool) -> Self
    where
        T::Options: ReuseOptions,
    {
        self.transport.set_reuse_address(on);
        self
    }

    /// `SO_REUSEPORT`: let several sockets bind the same port and share its
    /// requests (Python's `allow_reuse_port`; default off).
    pub fn reuse_port(mut self, on: bool) -> Self
    where
        T::Options: ReuseOptions,
    {
        self.transport.set_reuse_port(on);
        self
    }

    /// The longest datagram received whole (Python's `max_packet_size`;
    /// default 8192). A longer one is cut to it, its request says so
    /// ([`DatagramRequest::is_truncated`](crate::DatagramRequest::is_truncated)),
    /// and it is logged. Binding fails for 0 or more than 65,507.
    pub fn max_packet_size(mut self, size: usize) -> Self
    where
        T::Options: PacketOptions,
    {
        self.transport.set_max_packet_size(size);
        self
    }

    /// `TCP_NODELAY` on every connection: send small writes at once instead of
    /// coalescing them (Python's `disable_nagle_algorithm`; default off).
    pub fn nodelay(mut self, on: bool) -> Self
    where
        T::Options: NodelayOptions,
    {
        self.transport.set_nodelay(on);
        self
    }
}

impl<T: Transport, S: Service> Builder<T, Threading, S> {
    /// Whether closing the server leaves handler threads running (Python's
    /// `daemon_threads`; default `false`).
    pub fn daemon_threads(mut self, on: bool) -> Self {
        self.concurrency = self.concurrency.daemon_threads(on);
        self
    }

    /// Whether closing the server waits for handler threads (Python's
    /// `block_on_close`; default `true`).
    pub fn block_on_close(mut self, on: bool) -> Self {
        self.concurrency = self.concurrency.block_on_close(on);
        self
    }
}

impl<T: Transport, S: Service> Builder<T, Forking, S> {
    /// How many child processes serve requests at once (Python's
    /// `max_children`; default 40); at the bound, connections wait in the
    /// kernel's listen queue until a child ends. Binding fails with
    /// [`io::ErrorKind::InvalidInput`] for 0.
    pub fn max_children(mut self, max: usize) -> Self {
        self.concurrency = self.concurrency.max_children(max);
        self
    }
}

impl<T: Transport, S: Service> Builder<T, Event, S> {
    /// How many event loops serve connections, each on a thread of its own
    /// (default: one per CPU). Binding fails with
    /// [`io::ErrorKind::InvalidInput`] for 0.
    pub fn workers(mut self, workers: usize) -> Self {
        self.concurrency = self.concurrency.workers(workers);
        self
    }

    /// How long each event loop keeps looking for more work after a round
    /// of it before it sleeps (default: zero): fewer wake-ups under steady
    /// load, for more CPU; see [`Event::busy_poll`].
    pub fn busy_poll(mut self, time: Duration) -> Self {
        self.concurrency = self.concurrency.busy_poll(time);
        self
    }
}

impl<T: Transport, S: Service> Builder<T, Pool, S> {
    /// How many worker threads serve requests at once (default: one per
    /// CPU). Binding fails with [`io::ErrorKind::InvalidInput`] for 0.
    pub fn workers(mut self, workers: usize) -> Self {
        self.concurrency = self.concurrency.workers(workers);
        self
    }

    /// How many accepted requests may wait for a worker (default: 4 per
    /// worker); when the pool is full, connections wait in the kernel's
    /// listen queue. Binding fails with [`io::ErrorKind::InvalidInput`] for 0.
    pub fn queue(mut self, queue: usize) -> Self {
        self.concurrency = self.concurrency.queue(queue);
        self
    }
}

impl<T, C, S> Builder<T, C, S>
where
    T: Transport + Yields<S::Request>,
    C: Concurrency + Drives<S::Request>,
    S: Service,
{
    /// Creates the socket, binds it to `addr` and activates it (for a stream
    /// transport, listens). When `addr` resolves to several addresses, each is
    /// tried in turn and the first that binds is used.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be resolved, or no address it resolves to can be
    /// bound (the error of the last one, naming it); when the settings are
    /// invalid ([`io::ErrorKind::InvalidInput`]). A socket that fails to bind
    /// or activate is closed before the error returns.
    pub fn bind(self, addr: impl BindAddr<T>) -> io::Result<Server<T, C, S>> {
        self.validate()?;
        let mut last_error = None;
        for addr in addr.bind_addrs()? {
            let bound = T::new_socket(&addr, &self.transport).and_then(|socket| {
                T::bind_socket(&socket, &addr, &self.transport)?;
                T::activate(socket, &self.transport)
            });
            match bound {
                Ok(transport) => return self.build(transport),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("bind_addrs returns at least one address or an error"))
    }

    /// Creates the socket for `addr` with the configured options, but neither
    /// binds nor activates it (Python's `bind_and_activate=False`): set any
    /// further option on [`Unbound::socket`], then call
    /// [`Unbound::server_bind`] and [`Unbound::server_activate`]. Of an address
    /// that resolves to several, the first is used.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be resolved or the socket cannot be created.
    pub fn unbound(self, addr: impl BindAddr<T>) -> io::Result<Unbound<T, C, S>> {
        self.validate()?;
        let addr = addr.bind_addrs()?.swap_remove(0);
        let socket = T::new_socket(&addr, &self.transport)?;
        Ok(Unbound {
            socket,
            addr,
            bound: false,
            builder: self,
        })
    }

    /// Serves on a socket that is already bound (and, for a stream transport,
    /// listening), for instance one handed over by systemd:
    /// `TcpListener::from(OwnedFd)`. The options that apply before binding
    /// (backlog, address reuse) do not apply; the others (`nodelay`) do.
    ///
    /// # Errors
    ///
    /// When the socket is not of this transport's kind (e.g. a TCP socket that
    /// is not listening), or when the settings are invalid.
    pub fn from_listener(self, listener: impl Into<Socket>) -> io::Result<Server<T, C, S>> {
        self.validate()?;
        let transport = T::adopt(listener.into(), &self.transport)?;
        self.build(transport)
    }

    /// Checks the settings and the concurrency model's before anything binds.
    fn validate(&self) -> io::Result<()> {
        self.settings.validate()?;
        self.concurrency.validate()
    }

    /// Makes the server around an activated transport.
    fn build(self, transport: T) -> io::Result<Server<T, C, S>> {
        let shared = Arc::new(Shared {
            service: self.service,
            config: self.settings.request.clone(),
            connections: Arc::new(Connections::with_limit(self.settings.max_connections)),
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
/// `bind_and_activate=False`); made by [`Builder::unbound`].
pub struct Unbound<T: Transport, C, S> {
    socket: Socket,
    addr: T::Addr,
    bound: bool,
    builder: Builder<T, C, S>,
}

impl<T, C, S> Unbound<T, C, S>
where
    T: Transport + Yields<S::Request>,
    C: Concurrency + Drives<S::Request>,
    S: Service,
{
    /// The socket, to set options on before it binds.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The address the socket is to bind to, and once bound, the address it is
    /// bound to (with the real port when it asked for port 0).
    pub fn server_address(&self) -> T::Addr {
        self.addr.clone()
    }

    /// Binds the socket (Python's `server_bind`).
    ///
    /// # Errors
    ///
    /// As [`Transport::bind_socket`].
    pub fn server_bind(&mut self) -> io::Result<()> {
        self.addr = T::bind_socket(&self.socket, &self.addr, &self.builder.transport)?;
        self.bound = true;
        Ok(())
    }

    /// Activates the socket (for a stream transport, listens) and returns the
    /// server (Python's `server_activate`); binds first if
    /// [`server_bind`](Unbound::server_bind) was not called.
    ///
    /// # Errors
    ///
    /// As [`Transport::bind_socket`] and [`Transport::activate`].
    pub fn server_activate(mut self) -> io::Result<Server<T, C, S>> {
        if !self.bound {
            self.server_bind()?;
        }
        let transport = T::activate(self.socket, &self.builder.transport)?;
        self.builder.build(transport)
    }
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
