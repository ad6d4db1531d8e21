//! `setup` returning `bool` instead of `io::Result<()>`.

use socketserver::{StreamRequest, handle, hook, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }

    #[hook]
    fn setup(&self, _req: &mut StreamRequest) -> bool {
        true
    }
}

fn main() {}
