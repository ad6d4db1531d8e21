//! A connection limit that lets no connection in.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(max_connections = 0)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
