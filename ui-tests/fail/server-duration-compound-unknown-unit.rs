//! A duration of several parts with an unknown unit in the second: the unit is named.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = "1m30x")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
