//! `#[handle]` on the `impl` block instead of the method in it.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

#[handle]
impl Echo {
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
