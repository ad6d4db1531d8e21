//! A forking server that may have no child.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "forking", max_children = 0)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
