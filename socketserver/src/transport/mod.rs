//! Where requests come from: a listening socket, bound and activated with
//! `socket2`, from which the server loop accepts connections.
//!
//! | transport | Python | request |
//! | --- | --- | --- |
//! | [`Tcp`] | `TCPServer` | [`StreamRequest`](crate::StreamRequest) over a [`TcpStream`](std::net::TcpStream) |

mod tcp;

pub use tcp::{Tcp, TcpOptions};

use std::fmt;
use std::io;
use std::os::fd::AsFd;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A bound, listening socket the server loop accepts requests from;
/// implemented by this crate's transports only.
///
/// The socket is non-blocking and is watched by the server's
/// [`Selector`](crate::selector::Selector) through its file descriptor.
pub trait Transport: sealed::Sealed + AsFd + Send + Sized + 'static {
    /// What one accepted request is (a blocking connected socket).
    type Conn: Send + 'static;
    /// The address type of the server and of its clients.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;
    /// The socket options set before binding (backlog, address reuse, …).
    type Options: Clone + fmt::Debug + Default + Send + 'static;

    /// Accepts one waiting request; [`io::ErrorKind::WouldBlock`] when none is.
    fn accept(&self) -> io::Result<(Self::Conn, Self::Addr)>;

    /// The address the socket is bound to (with the real port when bound to port 0).
    fn local_addr(&self) -> &Self::Addr;

    /// Shuts down and closes a connection that will not be served (refused by
    /// `verify_request`), so the client sees it end at once.
    fn refuse(conn: Self::Conn);
}
