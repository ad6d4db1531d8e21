//! A handler taking the request by `&`: reading and writing need `&mut`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
