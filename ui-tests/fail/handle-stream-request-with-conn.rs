//! With `conn = "..."` the handler is buffer-shaped: a `StreamRequest`
//! handler is told which type to take.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = "tcp", conn = "()")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
