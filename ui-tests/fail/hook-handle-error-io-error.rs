//! `handle_error` taking an `io::Error`: it is given a `RequestError`, which
//! also carries panics.

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
    fn handle_error(&self, _client_address: &SocketAddr, _error: &io::Error) {}
}

fn main() {}
