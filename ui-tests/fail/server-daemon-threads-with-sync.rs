//! `daemon_threads` is an option of threading only.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "sync", daemon_threads = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
