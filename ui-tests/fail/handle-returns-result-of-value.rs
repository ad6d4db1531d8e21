//! A handler returning `io::Result<usize>` instead of `io::Result<()>`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<usize> {
        Ok(0)
    }
}

fn main() {}
