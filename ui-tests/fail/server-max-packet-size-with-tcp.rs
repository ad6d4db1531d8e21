//! `max_packet_size` is an option of datagram transports only.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = "tcp", max_packet_size = 1500)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
