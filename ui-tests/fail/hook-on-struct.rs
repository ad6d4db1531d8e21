//! `#[hook]` on the struct instead of a method.

use socketserver::{StreamRequest, handle, hook, server};
use std::io;

#[server]
#[hook]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
