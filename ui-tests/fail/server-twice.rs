//! `#[server]` written twice on one struct.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(concurrency = "sync")]
#[server(backlog = 16)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
