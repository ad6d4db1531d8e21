//! `verify_request` with a parameter too many.

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
    fn verify_request(&self, _client_address: &SocketAddr, _name: &str) -> bool {
        true
    }
}

fn main() {}
