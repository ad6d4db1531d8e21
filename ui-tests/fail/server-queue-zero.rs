//! A pool whose queue holds nothing.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "pool", queue = 0)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
