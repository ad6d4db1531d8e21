//! What the transports over IP (TCP and UDP) share: resolving the address to
//! bind, creating a socket with the address-reuse options, binding it and
//! reading back the address it got.

use super::context;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// The addresses `addr` resolves to, with a message that says what failed.
pub(super) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve the address to bind: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no address to bind",
        ));
    }
    Ok(addrs)
}

/// A socket of `kind` (`"TCP"`, `"UDP"`) for `addr`, with `SO_REUSEADDR` and
/// `SO_REUSEPORT` as asked: the options that must be set before binding.
pub(super) fn new_socket(
    addr: SocketAddr,
    (kind, ty, protocol): (&str, Type, Protocol),
    reuse_address: bool,
    reuse_port: bool,
) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))
        .map_err(|e| context(e, &format!("cannot create a {kind} socket for"), &addr))?;
    let set = || -> io::Result<()> {
        socket.set_reuse_address(reuse_address)?;
        if reuse_port {
            socket.set_reuse_port(true)?;
        }
        Ok(())
    };
    set().map_err(|e| context(e, "cannot set the socket options of", &addr))?;
    Ok(socket)
}

/// Binds `socket` to `addr`; returns the address it got (the real port for
/// port 0).
pub(super) fn bind(socket: &Socket, addr: SocketAddr) -> io::Result<SocketAddr> {
    socket
        .bind(&SockAddr::from(addr))
        .map_err(|e| context(e, "cannot bind", &addr))?;
    local_addr(socket)
}

/// The IPv4 or IPv6 address `socket` is bound to.
pub(super) fn local_addr(socket: &Socket) -> io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IPv4 or IPv6 socket"))
}
