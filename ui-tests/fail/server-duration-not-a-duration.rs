//! A duration string that is not a duration at all.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(poll_interval = "soon")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
