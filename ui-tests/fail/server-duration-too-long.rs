//! A duration too long to hold.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = "99999999999h")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
