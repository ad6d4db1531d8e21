//! `#[handle]` on a method of a struct that has no `#[server]`.

use socketserver::{StreamRequest, handle};
use std::io;

struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
