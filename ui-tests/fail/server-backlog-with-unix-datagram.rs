//! `backlog` is the queue of connections not yet accepted: a datagram
//! transport has no connections.

use socketserver::{DatagramRequest, handle, server};
use std::io;
use std::os::unix::net::UnixDatagram;

#[server(transport = "unix_datagram", backlog = 128)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut DatagramRequest<UnixDatagram>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
