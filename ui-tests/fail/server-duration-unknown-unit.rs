//! A duration in a unit that does not exist.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = "5 parsecs")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
