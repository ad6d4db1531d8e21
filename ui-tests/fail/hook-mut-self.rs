//! A hook taking `&mut self`.

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
    fn service_actions(&mut self) {}
}

fn main() {}
