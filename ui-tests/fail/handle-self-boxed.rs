//! `self: &Box<Self>` is not the shared `&self` a handler takes.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(self: &Box<Self>, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
