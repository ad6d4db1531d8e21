//! `queue` is an option of the pool only.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "threading", queue = 64)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
