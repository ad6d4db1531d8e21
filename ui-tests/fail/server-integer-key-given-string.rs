//! A number key given a string.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(backlog = "128")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
