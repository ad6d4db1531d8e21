//! [`Udp`]: UDP over IPv4 and IPv6, Python's `UDPServer`.

use super::{
    BindAddr, PacketOptions, Packets, ReuseOptions, Transport, Yields, context, ip, sealed,
};
use crate::request::{Datagram, DatagramRequest};
use socket2::{Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

/// The socket options of a UDP server, set before it binds. Start from
/// `UdpOptions::default()` and change fields; the builder's methods set them too.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UdpOptions {
    /// `SO_REUSEADDR` (Python's `allow_reuse_address`; default off: on UDP it
    /// lets another socket bind the same address and take its datagrams).
    pub reuse_address: bool,
    /// `SO_REUSEPORT`: let several sockets bind the same port and share its
    /// datagrams (Python's `allow_reuse_port`; default off).
    pub reuse_port: bool,
    /// The longest datagram received whole (Python's `max_packet_size`;
    /// default 8192, at most 65,507); a longer one is cut to it, and its
    /// request says so.
    pub max_packet_size: usize,
}

impl Default for UdpOptions {
    fn default() -> UdpOptions {
        UdpOptions {
            reuse_address: false,
            reuse_port: false,
            max_packet_size: 8192,
        }
    }
}

impl ReuseOptions for UdpOptions {
    fn set_reuse_address(&mut self, on: bool) {
        self.reuse_address = on;
    }
    fn set_reuse_port(&mut self, on: bool) {
        self.reuse_port = on;
    }
}

impl PacketOptions for UdpOptions {
    fn set_max_packet_size(&mut self, size: usize) {
        self.max_packet_size = size;
    }
}

/// A bound UDP socket (Python's `UDPServer` without its loop): IPv4 or IPv6, as
/// the address says. Each datagram received is a request.
#[derive(Debug)]
pub struct Udp {
    socket: Arc<UdpSocket>,
    addr: SocketAddr,
    /// Receives the datagrams, and sees when one is longer than
    /// `max_packet_size`.
    packets: Packets,
}

impl<A: ToSocketAddrs> BindAddr<Udp> for A {
    fn bind_addrs(self) -> io::Result<Vec<SocketAddr>> {
        ip::resolve(self)
    }
}

impl sealed::Sealed for Udp {}

impl Transport for Udp {
    type Conn = Datagram<UdpSocket>;
    type Addr = SocketAddr;
    type Options = UdpOptions;

    fn new_socket(addr: &SocketAddr, options: &UdpOptions) -> io::Result<Socket> {
        Packets::check(options.max_packet_size)?;
        let kind = ("UDP", Type::DGRAM, Protocol::UDP);
        ip::new_socket(*addr, kind, options.reuse_address, options.reuse_port)
    }

    fn bind_socket(socket: &Socket, addr: &SocketAddr, _: &UdpOptions) -> io::Result<SocketAddr> {
        ip::bind(socket, *addr)
    }

    fn activate(socket: Socket, options: &UdpOptions) -> io::Result<Udp> {
        // "No need to call listen() for UDP" (Python's `UDPServer.server_activate`).
        Udp::adopt(socket, options)
    }

    fn adopt(socket: Socket, options: &UdpOptions) -> io::Result<Udp> {
        let addr = ip::local_addr(&socket)?;
        if socket.r#type()? != Type::DGRAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot serve on {addr}: not a UDP socket"),
            ));
        }
        socket
            .set_nonblocking(true)
            .map_err(|e| context(e, "cannot make non-blocking the socket on", &addr))?;
        Ok(Udp {
            socket: Arc::new(socket.into()),
            addr,
            packets: Packets::new(options.max_packet_size),
        })
    }

    fn accept(&self) -> io::Result<(Datagram<UdpSocket>, SocketAddr)> {
        self.packets.take(&self.socket)
    }

    fn local_addr(&self) -> &SocketAddr {
        &self.addr
    }
}

impl Yields<DatagramRequest<UdpSocket>> for Udp {
    fn request_parts(
        datagram: Datagram<UdpSocket>,
        addr: SocketAddr,
    ) -> (Datagram<UdpSocket>, SocketAddr) {
        (datagram, addr)
    }
}

impl AsFd for Udp {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}
