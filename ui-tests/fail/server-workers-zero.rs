//! A pool of no workers.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "pool", workers = 0)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
