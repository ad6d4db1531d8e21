//! Several mistakes in one attribute are all reported in one build.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(
    backlogg = 16,
    nodelay = 1,
    timeout = "soon",
    concurrency = "sync",
    daemon_threads = true
)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
