//! The struct has a method of its own named `bind`, which `#[server]` also
//! defines.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }

    fn bind(&self) {}
}

fn main() {
    Echo.bind();
}
