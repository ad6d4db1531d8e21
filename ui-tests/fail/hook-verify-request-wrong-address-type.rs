//! `verify_request` taking a `&str` instead of a `&SocketAddr`.

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
    fn verify_request(&self, _client_address: &str) -> bool {
        true
    }
}

fn main() {}
