//! [`Tcp`]: TCP over IPv4 and IPv6, Python's `TCPServer`.

use super::{
    BindAddr, ListenOptions, NodelayOptions, ReuseOptions, Transport, Yields, context, ip,
    is_listening, sealed,
};
use crate::request::{Conn, ConnState, StreamRequest};
use socket2::{Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
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

/// Whether accepted sockets inherit `TCP_NODELAY` from the listener.
const NODELAY_INHERITED: bool = cfg!(target_os = "linux");

impl ListenOptions for TcpOptions {
    fn set_backlog(&mut self, backlog: i32) {
        self.backlog = backlog;
    }
}

impl ReuseOptions for TcpOptions {
    fn set_reuse_address(&mut self, on: bool) {
        self.reuse_address = on;
    }
    fn set_reuse_port(&mut self, on: bool) {
        self.reuse_port = on;
    }
}

impl NodelayOptions for TcpOptions {
    fn set_nodelay(&mut self, on: bool) {
        self.nodelay = on;
    }
}

impl<A: ToSocketAddrs> BindAddr<Tcp> for A {
    fn bind_addrs(self) -> io::Result<Vec<SocketAddr>> {
        ip::resolve(self)
    }
}

impl sealed::Sealed for Tcp {}

impl Transport for Tcp {
    type Conn = TcpStream;
    type Addr = SocketAddr;
    type Options = TcpOptions;

    fn new_socket(addr: &SocketAddr, options: &TcpOptions) -> io::Result<Socket> {
        let kind = ("TCP", Type::STREAM, Protocol::TCP);
        ip::new_socket(*addr, kind, options.reuse_address, options.reuse_port)
    }

    fn bind_socket(socket: &Socket, addr: &SocketAddr, _: &TcpOptions) -> io::Result<SocketAddr> {
        ip::bind(socket, *addr)
    }

    fn activate(socket: Socket, options: &TcpOptions) -> io::Result<Tcp> {
        let addr = ip::local_addr(&socket)?;
        socket
            .listen(options.backlog)
            .map_err(|e| context(e, "cannot listen on", &addr))?;
        Tcp::adopt(socket, options)
    }

    fn adopt(socket: Socket, options: &TcpOptions) -> io::Result<Tcp> {
        let addr = ip::local_addr(&socket)?;
        if socket.r#type()? != Type::STREAM || !is_listening(&socket2::SockRef::from(&socket))? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot serve on {addr}: not a listening TCP socket"),
            ));
        }
        socket
            .set_nonblocking(true)
            .map_err(|e| context(e, "cannot make non-blocking the listener on", &addr))?;
        if options.nodelay {
            // Set on the listener too, so that systems whose connections inherit
            // it (Linux does) need no call per connection.
            socket.set_tcp_nodelay(true)?;
        }
        Ok(Tcp {
            listener: socket.into(),
            addr,
            nodelay: options.nodelay && !NODELAY_INHERITED,
        })
    }

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
}

impl Yields<StreamRequest<TcpStream>> for Tcp {
    fn request_parts(conn: TcpStream, addr: SocketAddr) -> (TcpStream, SocketAddr) {
        (conn, addr)
    }
}

impl<St: ConnState> Yields<Conn<St, TcpStream>> for Tcp {
    fn request_parts(conn: TcpStream, addr: SocketAddr) -> (TcpStream, SocketAddr) {
        (conn, addr)
    }
}

impl AsFd for Tcp {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}
