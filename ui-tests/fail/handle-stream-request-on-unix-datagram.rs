//! A Unix datagram server's requests are datagrams: a `StreamRequest` handler
//! does not fit.

use socketserver::{StreamRequest, handle, server};
use std::io;
use std::os::unix::net::UnixStream;

#[server(transport = "unix_datagram")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest<UnixStream>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
