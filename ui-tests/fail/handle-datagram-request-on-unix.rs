//! A Unix stream server's requests are connections: a `DatagramRequest`
//! handler does not fit.

use socketserver::{DatagramRequest, handle, server};
use std::io;
use std::os::unix::net::UnixDatagram;

#[server(transport = "unix")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut DatagramRequest<UnixDatagram>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
