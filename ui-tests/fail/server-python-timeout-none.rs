//! Python's `timeout = None`: no timeout is the default, so the key is left out.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = None)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
