//! A generic handler.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle<W: io::Write>(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
