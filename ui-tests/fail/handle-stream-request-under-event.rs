//! Under `concurrency = "event"` a TCP handler is buffer-shaped: one that
//! takes a `StreamRequest` (and would block the event loop) is told to take
//! `&mut Conn`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = "tcp", concurrency = "event")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
