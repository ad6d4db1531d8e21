//! [`Tcp`]: TCP over IPv4 and IPv6, Python's `TCPServer`.

use super::{Transport, sealed};
use crate::builder::{Builder, Unbound};
use crate::concurrency::Concurrency;
use crate::server::Server;
use crate::service::Service;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};

/// The socket options of a TCP server, set before it binds. Start from
/// `TcpOptions::default()` and change fields; the builder's methods set them too.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TcpOptions {
    /// Length of the queue of connections not yet accepted (Python's
    /// `request_queue_size`; default 1024, capped by the system's `somaxconn`).
    pub backlog: i32,
    /// `SO_REUSEADDR`: rebind at once a port whose earlier connections are in
    /// `TIME_WAIT` (Python's `allow_reuse_address`; default on).
    pub reuse_address: bool,
    /// `SO_REUSEPORT`: let several sockets bind the same port and share its
    /// connections (Python's `allow_reuse_port`; default off).
    pub reuse_port: bool,
    /// `TCP_NODELAY` on every connection: send small writes at once instead of
    /// coalescing them (Python's `disable_nagle_algorithm`; default off).
    pub nodelay: bool,
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions {
            backlog: 1024,
            reuse_address: true,
            reuse_port: false,
            nodelay: false,
        }
    }
}

/// A listening TCP socket (Python's `TCPServer` without its loop): IPv4 or IPv6,
/// as the address says.
#[derive(Debug)]
pub struct Tcp {
    listener: TcpListener,
    addr: SocketAddr,
    nodelay: bool,
}

impl Tcp {
    /// A new socket for `addr` with the options that must precede `bind`.
    fn socket(addr: SocketAddr, options: &TcpOptions) -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| context(e, "cannot create a TCP socket for", addr))?;
        let set = || -> io::Result<()> {
            socket.set_reuse_address(options.reuse_address)?;
            if options.reuse_port {
                socket.set_reuse_port(true)?;
            }
            Ok(())
        };
        set().map_err(|e| context(e, "cannot set the socket options of", addr))?;
        Ok(socket)
    }

    fn bind(socket: &Socket, addr: SocketAddr) -> io::Result<()> {
        socket
            .bind(&SockAddr::from(addr))
            .map_err(|e| context(e, "cannot bind", addr))
    }

    /// Listens on a bound socket (Python's `server_activate`).
    fn activate(socket: Socket, options: &TcpOptions) -> io::Result<Tcp> {
        let addr = local_addr(&socket)?;
        socket
            .listen(options.backlog)
            .map_err(|e| context(e, "cannot listen on", addr))?;
        Tcp::adopt(socket.into(), options)
    }

    /// Takes over a listening socket, e.g. one inherited from systemd.
    fn adopt(listener: TcpListener, options: &TcpOptions) -> io::Result<Tcp> {
        let addr = listener.local_addr()?;
        let socket = socket2::SockRef::from(&listener);
        if socket.r#type()? != Type::STREAM || !is_listening(&socket)? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot serve on {addr}: not a listening TCP socket"),
            ));
        }
        listener
            .set_nonblocking(true)
            .map_err(|e| context(e, "cannot make non-blocking the listener on", addr))?;
        if options.nodelay {
            // Set on the listener too, so that systems whose connections inherit
            // it (Linux does) need no call per connection.
            socket.set_tcp_nodelay(true)?;
        }
        Ok(Tcp {
            listener,
            addr,
            nodelay: options.nodelay && !NODELAY_INHERITED,
        })
    }
}

/// Whether `listen` was called on the socket (where the system can tell).
fn is_listening(socket: &socket2::SockRef<'_>) -> io::Result<bool> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    return socket.is_listener();
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    return Ok(true);
}

/// Whether accepted sockets inherit `TCP_NODELAY` from the listener.
const NODELAY_INHERITED: bool = cfg!(target_os = "linux");

fn local_addr(socket: &Socket) -> io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IPv4 or IPv6 socket"))
}

/// Says what was being done to which address, keeping the error's kind and
/// the operating system's error as its [`source`](std::error::Error::source).
fn context(error: io::Error, doing: &str, addr: SocketAddr) -> io::Error {
    let kind = error.kind();
    io::Error::new(
        kind,
        Context {
            what: format!("{doing} {addr}"),
            source: error,
        },
    )
}

/// An error with what was being done when it happened.
#[derive(Debug)]
struct Context {
    what: String,
    source: io::Error,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl sealed::Sealed for Tcp {}

impl Transport for Tcp {
    type Conn = TcpStream;
    type Addr = SocketAddr;
    type Options = TcpOptions;

    fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = self.listener.accept()?;
        let prepare = || -> io::Result<()> {
            // Linux does not pass the listener's O_NONBLOCK on to accepted
            // sockets; the BSDs and macOS do, and handlers expect blocking sockets.
            if cfg!(not(target_os = "linux")) {
                stream.set_nonblocking(false)?;
            }
            if self.nodelay {
                stream.set_nodelay(true)?;
            }
            Ok(())
        };
        // Fails for this connection only (e.g. EINVAL on macOS for a client that
        // already reset): drop it and go on, do not pause the accept loop.
        prepare().map_err(|e| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("cannot set up the connection from {addr}: {e}"),
            )
        })?;
        Ok((stream, addr))
    }

    fn local_addr(&self) -> &SocketAddr {
        &self.addr
    }

    fn refuse(conn: TcpStream) {
        // Python's shutdown_request: the client sees end of input, not a hang.
        let _ = conn.shutdown(Shutdown::Write);
    }
}

impl AsFd for Tcp {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl<C: Concurrency + Default, S: Service> Server<Tcp, C, S> {
    /// Binds a TCP server to `addr` with the default options and starts
    /// listening: Python's `TCPServer(addr, Handler)`.
    ///
    /// `addr` is anything [`ToSocketAddrs`] takes: `"127.0.0.1:8000"`,
    /// `"[::1]:0"`, `("localhost", 8000)`. Port 0 picks a free port; read it back
    /// with [`server_address`](Server::server_address).
    pub fn bind<A: ToSocketAddrs>(addr: A, service: S) -> io::Result<Self> {
        Server::builder(service).bind(addr)
    }
}

impl<C: Concurrency, S: Service> Builder<Tcp, C, S> {
    /// The length of the queue of connections not yet accepted (default 1024).
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.transport.backlog = backlog;
        self
    }

    /// `SO_REUSEADDR` (default on).
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.transport.reuse_address = on;
        self
    }

    /// `SO_REUSEPORT` (default off).
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.transport.reuse_port = on;
        self
    }

    /// `TCP_NODELAY` on every connection (default off).
    pub fn nodelay(mut self, on: bool) -> Self {
        self.transport.nodelay = on;
        self
    }

    /// Binds to `addr` and listens. When `addr` resolves to several addresses,
    /// each is tried in turn and the first that binds is used.
    ///
    /// A socket that fails to bind or listen is closed before the error returns.
    pub fn bind<A: ToSocketAddrs>(self, addr: A) -> io::Result<Server<Tcp, C, S>> {
        self.settings.validate()?;
        let mut last_error = None;
        let addrs = addr.to_socket_addrs().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot resolve the address to bind: {e}"))
        })?;
        for addr in addrs {
            match self.bind_one(addr) {
                Ok(transport) => return self.build(transport),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolved to no address to bind",
            )
        }))
    }

    fn bind_one(&self, addr: SocketAddr) -> io::Result<Tcp> {
        let socket = Tcp::socket(addr, &self.transport)?;
        Tcp::bind(&socket, addr)?;
        Tcp::activate(socket, &self.transport)
    }

    /// Creates the socket for `addr` with the configured options, but neither
    /// binds nor listens (Python's `bind_and_activate=False`): set any further
    /// option on [`Unbound::socket`], then call [`Unbound::server_bind`] and
    /// [`Unbound::server_activate`].
    pub fn unbound(self, addr: SocketAddr) -> io::Result<Unbound<Tcp, C, S>> {
        self.settings.validate()?;
        let socket = Tcp::socket(addr, &self.transport)?;
        Ok(Unbound {
            socket,
            addr,
            bound: false,
            builder: self,
        })
    }

    /// Serves on a listener that is already bound and listening, for instance
    /// one handed over by systemd (`TcpListener::from(OwnedFd)`). The backlog
    /// and reuse options do not apply; `nodelay` does.
    pub fn from_listener(self, listener: TcpListener) -> io::Result<Server<Tcp, C, S>> {
        self.settings.validate()?;
        let transport = Tcp::adopt(listener, &self.transport)?;
        self.build(transport)
    }
}

impl<C: Concurrency, S: Service> Unbound<Tcp, C, S> {
    /// The socket, to set options on before it binds.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The address the socket is to bind to, and once bound, the address it is
    /// bound to (with the real port when it asked for port 0).
    pub fn server_address(&self) -> SocketAddr {
        self.addr
    }

    /// Binds the socket (Python's `server_bind`).
    pub fn server_bind(&mut self) -> io::Result<()> {
        Tcp::bind(&self.socket, self.addr)?;
        self.addr = local_addr(&self.socket)?;
        self.bound = true;
        Ok(())
    }

    /// Listens and returns the server (Python's `server_activate`); binds
    /// first if [`server_bind`](Unbound::server_bind) was not called.
    pub fn server_activate(mut self) -> io::Result<Server<Tcp, C, S>> {
        if !self.bound {
            self.server_bind()?;
        }
        let transport = Tcp::activate(self.socket, &self.builder.transport)?;
        self.builder.build(transport)
    }
}
