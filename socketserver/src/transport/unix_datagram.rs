//! [`UnixDgram`]: a Unix datagram socket, Python's `UnixDatagramServer`.

use super::unix::{Name, SocketFile, bind, bind_unix_addrs, check_adopted, new_socket};
use super::{PacketOptions, Packets, Transport, Yields, context, sealed};
use crate::request::{Datagram, DatagramRequest};
use socket2::{Socket, Type};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;

/// The socket options of a Unix datagram server. Start from
/// `UnixDgramOptions::default()` and change fields; the builder's methods set
/// them too.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UnixDgramOptions {
    /// The longest datagram received whole (Python's `max_packet_size`;
    /// default 8192, at most 65,507, as for UDP); a longer one is cut to it,
    /// and its request says so.
    pub max_packet_size: usize,
}

impl Default for UnixDgramOptions {
    fn default() -> UnixDgramOptions {
        UnixDgramOptions {
            max_packet_size: 8192,
        }
    }
}

impl PacketOptions for UnixDgramOptions {
    fn set_max_packet_size(&mut self, size: usize) {
        self.max_packet_size = size;
    }
}

/// A bound Unix datagram socket (Python's `UnixDatagramServer` without its
/// loop), at a path, or on Linux at an abstract name. Each datagram received
/// is a request, a [`DatagramRequest<UnixDatagram>`](DatagramRequest).
///
/// The reply goes to the address the datagram came from: a client gets one
/// only if its socket is bound (to a path, or an abstract name). A reply to a
/// client whose socket has no address cannot be sent; the error goes to
/// `handle_error`, and the server goes on.
///
/// Paths are handled as by [`Unix`](super::Unix): a stale socket file is
/// removed before binding, a live server's path or a file that is not a
/// socket is refused, and closing the server removes the file it made.
#[derive(Debug)]
pub struct UnixDgram {
    // Closed before `file` removes the path (requests still being served keep
    // their own reference, to reply through).
    socket: Arc<UnixDatagram>,
    addr: SocketAddr,
    /// Receives the datagrams, and sees when one is longer than
    /// `max_packet_size`.
    packets: Packets,
    /// The file this server's bind made, removed when it closes.
    file: Option<SocketFile>,
}

bind_unix_addrs!(UnixDgram);

impl sealed::Sealed for UnixDgram {}

impl Transport for UnixDgram {
    type Conn = Datagram<UnixDatagram>;
    type Addr = SocketAddr;
    type Options = UnixDgramOptions;

    fn new_socket(addr: &SocketAddr, options: &UnixDgramOptions) -> io::Result<Socket> {
        Packets::check(options.max_packet_size)?;
        new_socket(addr, Type::DGRAM)
    }

    fn bind_socket(
        socket: &Socket,
        addr: &SocketAddr,
        _: &UnixDgramOptions,
    ) -> io::Result<SocketAddr> {
        bind(socket, addr, Type::DGRAM)
    }

    fn activate(socket: Socket, options: &UnixDgramOptions) -> io::Result<UnixDgram> {
        // "No need to call listen()", as for UDP; only the file to record.
        let mut unix = UnixDgram::adopt(socket, options)?;
        unix.file = SocketFile::record(&unix.addr)?;
        Ok(unix)
    }

    fn adopt(socket: Socket, options: &UnixDgramOptions) -> io::Result<UnixDgram> {
        check_adopted(&socket, Type::DGRAM, "a Unix datagram socket")?;
        let socket = UnixDatagram::from(socket);
        let addr = socket.local_addr()?;
        socket
            .set_nonblocking(true)
            .map_err(|e| context(e, "cannot make non-blocking the socket on", &Name(&addr)))?;
        Ok(UnixDgram {
            socket: Arc::new(socket),
            addr,
            packets: Packets::new(options.max_packet_size),
            file: None,
        })
    }

    fn accept(&self) -> io::Result<(Datagram<UnixDatagram>, SocketAddr)> {
        self.packets.take(&self.socket)
    }

    fn local_addr(&self) -> &SocketAddr {
        &self.addr
    }
}

impl Yields<DatagramRequest<UnixDatagram>> for UnixDgram {
    fn request_parts(
        datagram: Datagram<UnixDatagram>,
        addr: SocketAddr,
    ) -> (Datagram<UnixDatagram>, SocketAddr) {
        (datagram, addr)
    }
}

impl AsFd for UnixDgram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
