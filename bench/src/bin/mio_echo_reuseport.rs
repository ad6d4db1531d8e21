//! Peer: `N` independent `mio` echo loops, one per thread, each with its own
//! listener bound to the same address with `SO_REUSEPORT` (the kernel spreads
//! the connections among them); each runs `mio_echo`'s loop
//! (`socketserver_bench::peer::mio_echo_loop`).
//!
//! ```text
//! mio_echo_reuseport [--addr] ADDR [--threads N]
//! mio_echo_reuseport 127.0.0.1:0 --threads 2
//! ```
//!
//! `N` is by default the number of CPUs this process may run on. With port 0
//! the first listener picks the port and the others bind to it. Says
//! `listening on ADDR` on standard error once every listener accepts, and runs
//! until killed.

use socket2::{Domain, Protocol, Socket, Type};
use socketserver_bench::peer::{PeerArgs, mio_echo_loop};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::thread;

/// A non-blocking listener on `addr` that shares its port (`SO_REUSEPORT`),
/// with the backlog that `mio` and `tokio` give theirs.
fn listener(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

fn main() -> io::Result<()> {
    let args = PeerArgs::parse(
        &["threads"],
        "mio_echo_reuseport [--addr] ADDR [--threads N]",
    );
    let threads = args.count_or_cpus("threads")?;
    let addr = args
        .addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("{} resolves to nothing", args.addr)))?;
    let first = listener(addr)?;
    // With port 0 the others must share the port the first one got.
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..threads {
        listeners.push(listener(addr)?);
    }
    eprintln!("listening on {addr}");
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|listener| thread::spawn(move || mio_echo_loop(listener)))
        .collect();
    for handle in loops {
        handle
            .join()
            .map_err(|_| io::Error::other("an echo loop panicked"))??;
    }
    Ok(())
}
