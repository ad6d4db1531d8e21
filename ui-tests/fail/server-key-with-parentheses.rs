//! A key written like a function call instead of `key = value`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport("tcp"))]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
