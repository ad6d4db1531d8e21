//! A UDP server's requests are datagrams: a `StreamRequest` handler does not fit.

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
