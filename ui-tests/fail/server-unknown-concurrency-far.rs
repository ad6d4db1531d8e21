//! A concurrency model that does not exist at all.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "green")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
