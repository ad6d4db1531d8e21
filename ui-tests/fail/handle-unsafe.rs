//! An `unsafe` handler.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    unsafe fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
