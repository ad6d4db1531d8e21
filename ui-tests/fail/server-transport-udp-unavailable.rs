//! UDP is a transport of the design that this version does not have yet.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = "udp")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
