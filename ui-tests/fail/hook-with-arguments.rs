//! `#[hook]` takes no arguments: the method's name chooses the hook.

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

    #[hook(verify_request)]
    fn verify_request(&self, _client_address: &SocketAddr) -> bool {
        true
    }
}

fn main() {}
