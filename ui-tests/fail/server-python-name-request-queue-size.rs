//! Python's `request_queue_size` is `backlog` here.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(request_queue_size = 128)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
