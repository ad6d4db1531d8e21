//! `#[handle]` on a method of a trait implementation: it goes in an inherent
//! `impl` block of the struct.

use socketserver::{StreamRequest, handle, server};
use std::io;

trait Serve {
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()>;
}

#[server]
struct Echo;

impl Serve for Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
