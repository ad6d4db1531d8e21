//! `#[handle]` on the struct instead of a method.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
#[handle]
struct Echo;

impl Echo {
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {
    let _ = Echo::handle;
}
