//! Peer: a hand-written single-thread `mio` TCP echo loop (edge-triggered, a
//! buffer per connection, each read written back at once; see
//! `socketserver_bench::peer::mio_echo_loop`).
//!
//! `mio_echo ADDR` or `mio_echo --addr ADDR` (e.g. `127.0.0.1:7100`, or port 0
//! for a free one); says `listening on ADDR` on standard error once it
//! accepts, and runs until killed.

use mio::net::TcpListener;
use socketserver_bench::peer::{PeerArgs, mio_echo_loop};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

fn main() -> io::Result<()> {
    let args = PeerArgs::parse(&[], "mio_echo [--addr] ADDR");
    let addr: SocketAddr = args
        .addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("{} resolves to nothing", args.addr)))?;
    let listener = TcpListener::bind(addr)?;
    eprintln!("listening on {}", listener.local_addr()?);
    mio_echo_loop(listener)
}
