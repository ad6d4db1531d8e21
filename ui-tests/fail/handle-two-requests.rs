//! A handler with a second parameter.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest, _other: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
