//! A key that is nothing like any key: the error lists them all.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(colour = "red")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
