//! Python's `allow_reuse_address` is `reuse_address` here.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(allow_reuse_address = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
