//! A hook name that is no hook at all: the error lists them.

use socketserver::{StreamRequest, handle, hook, server};
use std::io;
use std::net::SocketAddr;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }

    #[hook]
    fn on_connect(&self, _client_address: &SocketAddr) {}
}

fn main() {}
