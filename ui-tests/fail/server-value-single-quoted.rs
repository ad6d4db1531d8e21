//! A string in single quotes: the compiler's error is the only one.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = 'tcp')]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
