//! A UDP server written with the attributes, with the datagram keys, answering
//! a real datagram.

use socketserver::{DatagramRequest, handle, server};
use std::io::{self, Write};
use std::net::UdpSocket;
use std::thread;
use std::time::Duration;

#[server(
    transport = "udp",
    concurrency = "sync",
    max_packet_size = 1500,
    reuse_port = true
)]
struct Upper;

impl Upper {
    #[handle]
    fn handle(&self, req: &mut DatagramRequest) -> io::Result<()> {
        let reply = req.packet().to_ascii_uppercase();
        req.wfile().write_all(&reply)
    }
}

fn main() -> io::Result<()> {
    let mut server = Upper.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let stop = server.shutdown_handle();
    let serving = thread::spawn(move || server.serve_forever());
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.set_read_timeout(Some(Duration::from_secs(20)))?;
    client.send_to(b"hello", addr)?;
    let mut reply = [0; 16];
    let n = client.recv(&mut reply)?;
    assert_eq!(&reply[..n], b"HELLO");
    stop.shutdown();
    serving.join().unwrap()
}
