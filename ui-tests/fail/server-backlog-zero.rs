//! A backlog of zero.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(backlog = 0)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
