//! A datagram handler: this version serves streams only.

use socketserver::{handle, server};
use std::io;

struct DatagramRequest;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut DatagramRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
