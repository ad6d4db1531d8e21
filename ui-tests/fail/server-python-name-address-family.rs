//! Python's `address_family`: the address given to `bind` decides it.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(address_family = 10)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
