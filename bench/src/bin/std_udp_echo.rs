//! Peer: a plain `std` blocking UDP echo server, one thread sending each
//! datagram back to where it came from.
//!
//! `std_udp_echo ADDR` or `std_udp_echo --addr ADDR` (e.g. `127.0.0.1:7100`,
//! or port 0 for a free one); says `listening on ADDR` on standard error once
//! bound, and runs until killed.

use socketserver_bench::peer::PeerArgs;
use std::io;
use std::net::UdpSocket;

fn main() -> io::Result<()> {
    let args = PeerArgs::parse(&[], "std_udp_echo [--addr] ADDR");
    let socket = UdpSocket::bind(&args.addr)?;
    eprintln!("listening on {}", socket.local_addr()?);
    // The largest UDP payload over IPv4.
    let mut buffer = vec![0; 65_536];
    loop {
        // A failed datagram (e.g. a truncated one, or no room to send) is
        // dropped, as UDP does; the server goes on.
        if let Ok((n, peer)) = socket.recv_from(&mut buffer) {
            let _ = socket.send_to(&buffer[..n], peer);
        }
    }
}
