//! A mode name written without quotes.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = threading)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
