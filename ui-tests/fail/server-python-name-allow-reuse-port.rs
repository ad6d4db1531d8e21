//! Python's `allow_reuse_port` is `reuse_port` here.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(allow_reuse_port = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
