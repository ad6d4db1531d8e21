//! `nodelay` is a TCP option; UDP (itself not available yet) has no such thing.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = "udp", nodelay = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
