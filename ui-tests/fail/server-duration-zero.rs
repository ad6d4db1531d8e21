//! A zero duration.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(shutdown_timeout = "0s")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
