//! `verify_request` returning `Option<bool>` instead of `bool`.

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
    fn verify_request(&self, _client_address: &SocketAddr) -> Option<bool> {
        Some(true)
    }
}

fn main() {}
