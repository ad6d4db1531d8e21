//! `setup` taking the request by `&` instead of `&mut`.

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
    fn setup(&self, _req: &StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
