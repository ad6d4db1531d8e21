//! `max_connections` bounds the models that serve several connections at
//! once; `sync` serves one at a time.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "sync", max_connections = 100)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
