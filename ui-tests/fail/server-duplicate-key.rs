//! The same key twice: the error is on the second.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(backlog = 16, backlog = 32)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
