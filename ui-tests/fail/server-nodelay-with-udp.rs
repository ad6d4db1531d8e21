//! `nodelay` is a TCP option; UDP has no such thing.

use socketserver::{DatagramRequest, handle, server};
use std::io;

#[server(transport = "udp", nodelay = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut DatagramRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
