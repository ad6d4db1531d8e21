//! A datagram server has no connections: `conn` applies to stream transports.

use socketserver::{DatagramRequest, handle, server};
use std::io;

#[server(transport = "udp", conn = "()")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut DatagramRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
