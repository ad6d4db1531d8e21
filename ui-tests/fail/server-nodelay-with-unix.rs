//! `nodelay` is a TCP option; a Unix stream socket has no Nagle algorithm.

use socketserver::{StreamRequest, handle, server};
use std::io;
use std::os::unix::net::UnixStream;

#[server(transport = "unix", nodelay = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest<UnixStream>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
