//! Unix datagram sockets are not in this version yet.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = "unix_datagram")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
