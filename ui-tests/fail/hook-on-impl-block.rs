//! `#[hook]` on the `impl` block instead of each hook in it.

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
}

#[hook]
impl Echo {
    fn verify_request(&self, client_address: &SocketAddr) -> bool {
        client_address.ip().is_loopback()
    }

    fn service_actions(&self) {}
}

fn main() {}
