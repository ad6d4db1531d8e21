//! `handle_error` returning a value.

use socketserver::{RequestError, StreamRequest, handle, hook, server};
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
    fn handle_error(&self, _client_address: &SocketAddr, _error: &RequestError) -> bool {
        true
    }
}

fn main() {}
