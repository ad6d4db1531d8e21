//! More worker threads than the pool takes.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "pool", workers = 5000)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
