//! Lifetime parameters on the handler and hooks are harmless and accepted.

use socketserver::{StreamRequest, handle, hook, server};
use std::io::{self, Write};
use std::net::SocketAddr;

#[server]
struct Named;

impl Named {
    #[handle]
    fn handle<'a>(&'a self, req: &'a mut StreamRequest) -> io::Result<()> {
        req.wfile().write_all(b"named")
    }

    #[hook]
    fn verify_request<'c>(&self, client_address: &'c SocketAddr) -> bool {
        client_address.ip().is_loopback()
    }
}

fn main() {
    let server = Named.bind("127.0.0.1:0").unwrap();
    assert_ne!(server.server_address().port(), 0);
}
