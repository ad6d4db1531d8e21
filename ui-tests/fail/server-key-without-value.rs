//! A boolean key written as a bare flag.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(nodelay)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
