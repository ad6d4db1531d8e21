//! `handle_timeout` takes nothing after `&self`.

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
    fn handle_timeout(&self, _elapsed: &std::time::Duration) {}
}

fn main() {}
