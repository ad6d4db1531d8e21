//! Peer: a `tokio` UDP echo server: one socket, a `recv_from`/`send_to` loop
//! on the current-thread runtime.
//!
//! `tokio_udp_echo ADDR` or `tokio_udp_echo --addr ADDR` (e.g.
//! `127.0.0.1:7100`, or port 0 for a free one); says `listening on ADDR` on
//! standard error once bound, and runs until killed.

use socketserver_bench::peer::PeerArgs;
use std::io;
use tokio::net::UdpSocket;
use tokio::runtime::Builder;

async fn run(addr: String) -> io::Result<()> {
    let socket = UdpSocket::bind(&addr).await?;
    eprintln!("listening on {}", socket.local_addr()?);
    // The largest UDP payload over IPv4.
    let mut buffer = vec![0; 65_536];
    loop {
        // A failed datagram is dropped, as UDP does; the server goes on.
        if let Ok((n, peer)) = socket.recv_from(&mut buffer).await {
            let _ = socket.send_to(&buffer[..n], peer).await;
        }
    }
}

fn main() -> io::Result<()> {
    let args = PeerArgs::parse(&[], "tokio_udp_echo [--addr] ADDR");
    Builder::new_current_thread()
        .enable_io()
        .build()?
        .block_on(run(args.addr))
}
