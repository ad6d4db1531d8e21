//! Where requests come from: a socket, created, bound and activated with
//! `socket2`, from which the server loop accepts connections or receives
//! datagrams.
//!
//! | transport | Python | request |
//! | --- | --- | --- |
//! | [`Tcp`] | `TCPServer` | [`StreamRequest`](crate::StreamRequest) over a [`TcpStream`](std::net::TcpStream) |
//!
//! A transport owns its socket's whole life, as a set of steps that
//! [`Builder`](crate::Builder) calls in order, the same for every transport:
//! [`new_socket`](Transport::new_socket) (create it, set the options that must come
//! before binding), [`bind_socket`](Transport::bind_socket), [`activate`](Transport::activate)
//! (`listen` for a stream transport, nothing for a datagram one), or
//! [`adopt`](Transport::adopt) for a socket bound elsewhere (e.g. by systemd);
//! then [`accept`](Transport::accept) from the loop. It knows nothing of the
//! server, the builder or the concurrency models.

mod tcp;

pub use tcp::{Tcp, TcpOptions};

use crate::request::Request;
use socket2::Socket;
use std::fmt;
use std::io;
use std::os::fd::AsFd;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A socket the server loop takes requests from; implemented by this crate's
/// transports only.
///
/// Once activated the socket is non-blocking and is watched by the server's
/// [`Selector`](crate::selector::Selector) through its file descriptor.
pub trait Transport: sealed::Sealed + AsFd + Send + Sized + 'static {
    /// What one request is as the transport yields it (an accepted, blocking
    /// connection, or a received datagram).
    type Conn: Send + 'static;
    /// The address type of the server and of its clients.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;
    /// The socket options (backlog, address reuse, …), set by the builder.
    type Options: Clone + fmt::Debug + Default + Send + 'static;

    /// Creates a socket for `addr` with the options that must be set before it
    /// binds. Python's server constructor, up to `server_bind`.
    ///
    /// # Errors
    ///
    /// When the socket cannot be created or an option set; the message names
    /// the address.
    fn new_socket(addr: &Self::Addr, options: &Self::Options) -> io::Result<Socket>;

    /// Binds `socket` to `addr` and returns the address it is bound to (with
    /// the real port when `addr` asked for port 0). Python's `server_bind`.
    ///
    /// # Errors
    ///
    /// When the address is taken or cannot be bound; the message names it.
    fn bind_socket(
        socket: &Socket,
        addr: &Self::Addr,
        options: &Self::Options,
    ) -> io::Result<Self::Addr>;

    /// Makes the transport of a bound socket: listens on it (stream
    /// transports) and makes it non-blocking. Python's `server_activate`.
    ///
    /// # Errors
    ///
    /// When `listen` fails; the socket is closed.
    fn activate(socket: Socket, options: &Self::Options) -> io::Result<Self>;

    /// Makes the transport of a socket that was bound (and, for a stream
    /// transport, set listening) elsewhere, e.g. handed over by systemd.
    ///
    /// # Errors
    ///
    /// When the socket is not of this transport's kind, or not ready to serve.
    fn adopt(socket: Socket, options: &Self::Options) -> io::Result<Self>;

    /// Takes one waiting request; [`io::ErrorKind::WouldBlock`] when none is.
    fn accept(&self) -> io::Result<(Self::Conn, Self::Addr)>;

    /// The address the socket is bound to (with the real port when it asked
    /// for port 0).
    fn local_addr(&self) -> &Self::Addr;

    /// Lets go of a request that will not be served (refused by
    /// `verify_request`): a connection is shut down, so that the client sees
    /// it end at once.
    fn refuse(conn: Self::Conn);
}

/// What a transport's server can be bound to: for [`Tcp`], anything
/// [`ToSocketAddrs`](std::net::ToSocketAddrs) takes (`"127.0.0.1:8000"`,
/// `"[::1]:0"`, `("localhost", 8000)`).
///
/// An address that resolves to several is tried in turn; the first that binds
/// is used.
pub trait BindAddr<T: Transport> {
    /// The addresses to try, in order.
    ///
    /// # Errors
    ///
    /// When the address cannot be resolved.
    fn bind_addrs(self) -> io::Result<Vec<T::Addr>>;
}

/// Transports whose requests are `R`: checked where a server is bound, so that
/// a handler of the wrong kind (a datagram handler on a stream transport) is a
/// compile error on the `bind` call.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` server cannot serve `{R}` requests",
    label = "the handler's request type does not fit this transport",
    note = "a stream transport (`Tcp`, …) serves `StreamRequest`s; write the handler for the \
            requests of the transport, or pick the transport that yields its requests"
)]
pub trait Yields<R>: Transport {}

impl<T: Transport, R: Request<Conn = T::Conn, Addr = T::Addr>> Yields<R> for T {}

/// Options of transports that listen for connections.
pub trait ListenOptions {
    /// Sets the length of the queue of connections not yet accepted.
    fn set_backlog(&mut self, backlog: i32);
}

/// Options of transports bound to IP addresses.
pub trait ReuseOptions {
    /// Sets `SO_REUSEADDR`.
    fn set_reuse_address(&mut self, on: bool);
    /// Sets `SO_REUSEPORT`.
    fn set_reuse_port(&mut self, on: bool);
}

/// Options of TCP.
pub trait NodelayOptions {
    /// Sets `TCP_NODELAY` on every connection.
    fn set_nodelay(&mut self, on: bool);
}

/// Says what was being done to which address, keeping the error's kind and
/// the operating system's error as its [`source`](std::error::Error::source).
pub(crate) fn context(error: io::Error, doing: &str, addr: &dyn fmt::Display) -> io::Error {
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

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
