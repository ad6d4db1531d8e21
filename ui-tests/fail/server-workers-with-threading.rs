//! `workers` is an option of the pool and event models only.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "threading", workers = 4)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
