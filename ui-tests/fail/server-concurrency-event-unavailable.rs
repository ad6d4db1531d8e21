//! The event loop model is not in this version yet.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "event")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
