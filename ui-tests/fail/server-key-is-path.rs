//! A path where a key belongs.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(a::b = 1)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
