//! Where requests come from: a socket, created, bound and activated with
//! `socket2`, from which the server loop accepts connections or receives
//! datagrams.
//!
//! | transport | Python | request |
//! | --- | --- | --- |
//! | [`Tcp`] | `TCPServer` | [`StreamRequest`](crate::StreamRequest) over a [`TcpStream`](std::net::TcpStream) |
//! | [`Udp`] | `UDPServer` | [`DatagramRequest`](crate::DatagramRequest) from a [`UdpSocket`](std::net::UdpSocket) |
//! | [`Unix`] | `UnixStreamServer` | [`StreamRequest`](crate::StreamRequest) over a [`UnixStream`](std::os::unix::net::UnixStream) |
//! | [`UnixDgram`] | `UnixDatagramServer` | [`DatagramRequest`](crate::DatagramRequest) from a [`UnixDatagram`](std::os::unix::net::UnixDatagram) |
//!
//! A transport owns its socket's whole life, as a set of steps that
//! [`Builder`](crate::Builder) calls in order, the same for every transport:
//! [`new_socket`](Transport::new_socket) (create it, set the options that must come
//! before binding), [`bind_socket`](Transport::bind_socket), [`activate`](Transport::activate)
//! (`listen` for a stream transport, nothing for a datagram one), or
//! [`adopt`](Transport::adopt) for a socket bound elsewhere (e.g. by systemd);
//! then [`accept`](Transport::accept) from the loop. It knows nothing of the
//! server, the builder or the concurrency models.
//!
//! # Unix socket files
//!
//! [`Unix`] and [`UnixDgram`] bind to a path (or, on Linux, to an abstract
//! name: a path starting with a NUL byte, `"\0name"`, which leaves no file).
//! The file a bind leaves at the path outlives the socket, so:
//!
//! * binding where a socket file is left over from a server that is gone (a
//!   connect to it is refused) removes it first;
//! * binding where a server still answers fails with
//!   [`io::ErrorKind::AddrInUse`], naming the path: a live server is never
//!   taken over (the probe is a connect, which a stream server sees as a
//!   connection that ends at once);
//! * a file that is not a socket is never removed: binding there fails,
//!   naming it;
//! * closing the server removes the file its bind made, unless the file at
//!   the path has been replaced since (by a newer server, say: the device and
//!   inode are compared). A server made with
//!   [`from_listener`](crate::Builder::from_listener) leaves its socket's file
//!   alone, as does a server that was never activated.

mod ip;
mod tcp;
mod udp;
mod unix;
mod unix_datagram;

pub use tcp::{Tcp, TcpOptions};
pub use udp::{Udp, UdpOptions};
pub use unix::{Unix, UnixOptions};
pub use unix_datagram::{UnixDgram, UnixDgramOptions};

use crate::report::emit;
use crate::request::{Datagram, DatagramSocket, Request};
use socket2::Socket;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;

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
}

/// What a transport's server can be bound to: for [`Tcp`] and [`Udp`],
/// anything [`ToSocketAddrs`](std::net::ToSocketAddrs) takes
/// (`"127.0.0.1:8000"`, `"[::1]:0"`, `("localhost", 8000)`); for [`Unix`] and
/// [`UnixDgram`], a path (`&str`, `String`, `&Path`, `PathBuf`) or a
/// [`std::os::unix::net::SocketAddr`] (on Linux, an abstract name too: a path
/// starting with a NUL byte, or an address made with `from_abstract_name`).
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
/// a handler of the wrong kind (a `StreamRequest` handler on a datagram
/// transport) is a compile error on the `bind` call ("expected
/// `DatagramRequest`, found `StreamRequest`"). Implemented for each transport
/// and the one request type it yields.
pub trait Yields<R: Request>: Transport {
    /// What the transport accepted, as the request's parts (the same values).
    #[doc(hidden)]
    fn request_parts(conn: Self::Conn, addr: Self::Addr) -> (R::Conn, R::Addr);
}

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

/// Options of datagram transports.
pub trait PacketOptions {
    /// Sets the longest datagram received whole.
    fn set_max_packet_size(&mut self, size: usize);
}

/// The longest `max_packet_size`: the largest UDP payload over IPv4.
pub(crate) const MAX_PACKET_SIZE: usize = 65_507;

/// How a datagram transport receives: into a buffer one byte longer than
/// `max_packet_size`, so that a longer datagram is seen to be longer, and is
/// cut, flagged and logged rather than silently cut.
#[derive(Debug)]
pub(crate) struct Packets {
    max_packet_size: usize,
    buffer: RefCell<Vec<u8>>,
    /// Whether a cut datagram was logged as a warning already: the next ones
    /// are logged at `debug` level, so that a client cannot flood the log.
    warned: Cell<bool>,
}

impl Packets {
    /// Checks `max_packet_size` (1 to [`MAX_PACKET_SIZE`]).
    pub(crate) fn check(max_packet_size: usize) -> io::Result<()> {
        if (1..=MAX_PACKET_SIZE).contains(&max_packet_size) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`max_packet_size` is {max_packet_size}; it must be 1 to {MAX_PACKET_SIZE}"),
        ))
    }

    pub(crate) fn new(max_packet_size: usize) -> Packets {
        Packets {
            max_packet_size,
            buffer: RefCell::new(vec![0; max_packet_size + 1]),
            warned: Cell::new(false),
        }
    }

    /// Receives one datagram from `socket`: its bytes (at most
    /// `max_packet_size`), whether it was longer, and its sender.
    pub(crate) fn take<D: DatagramSocket>(
        &self,
        socket: &Arc<D>,
    ) -> io::Result<(Datagram<D>, D::Addr)> {
        // Only the loop's thread receives, one datagram at a time.
        let mut buffer = self.buffer.borrow_mut();
        let (n, client) = socket.recv_from(&mut buffer)?;
        let truncated = n > self.max_packet_size;
        if truncated {
            let level = if self.warned.replace(true) {
                log::Level::Debug
            } else {
                log::Level::Warn
            };
            emit!(
                level,
                "a datagram from {client:?} was longer than `max_packet_size` ({} bytes): its \
                 handler gets the first {0} bytes (further ones are logged at debug level)",
                self.max_packet_size
            );
        }
        let datagram = Datagram {
            packet: buffer[..n.min(self.max_packet_size)].to_vec(),
            truncated,
            socket: Arc::clone(socket),
        };
        Ok((datagram, client))
    }
}

/// Whether `listen` was called on the socket (where the system can tell).
fn is_listening(socket: &socket2::SockRef<'_>) -> io::Result<bool> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    return socket.is_listener();
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    return Ok(true);
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
