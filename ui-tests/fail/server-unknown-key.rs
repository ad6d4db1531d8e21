//! A misspelt key: the error suggests the nearest one.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(backlogg = 16)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
