//! `max_connections` is a key of the design that this version does not support yet.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(max_connections = 100)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
