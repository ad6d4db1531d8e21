//! A datagram larger than UDP allows.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(max_packet_size = 70000)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
