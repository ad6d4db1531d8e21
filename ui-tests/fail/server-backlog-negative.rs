//! A negative number for a key that takes a positive one.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(backlog = -1)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
