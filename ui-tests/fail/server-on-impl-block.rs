//! `#[server]` on the `impl` block instead of the struct.

use socketserver::{StreamRequest, handle, server};
use std::io;

struct Echo;

#[server]
impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
