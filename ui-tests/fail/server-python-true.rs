//! Python's `True`: Rust's booleans are lowercase.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(nodelay = True)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
