//! `#[hook]` on the handler: the handler is marked `#[handle]`.

use socketserver::{StreamRequest, hook, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[hook]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
