//! A duration key given a bare number: durations are strings with a unit.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = 30)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
