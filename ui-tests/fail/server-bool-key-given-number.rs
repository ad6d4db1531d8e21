//! A boolean key given a number.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(nodelay = 1)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
