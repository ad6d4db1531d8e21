//! A misspelt concurrency model: the error suggests the nearest one.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "threads")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
