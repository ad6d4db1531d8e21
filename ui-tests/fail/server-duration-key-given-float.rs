//! A duration written as a number of seconds, as Python's are.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = 0.5)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
