//! A hook named almost like one: the error suggests it.

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
    fn verify(&self, _client_address: &SocketAddr) -> bool {
        true
    }
}

fn main() {}
