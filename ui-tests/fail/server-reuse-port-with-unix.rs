//! `reuse_port` is an option of the IP transports; a Unix socket path cannot
//! be shared.

use socketserver::{StreamRequest, handle, server};
use std::io;
use std::os::unix::net::UnixStream;

#[server(transport = "unix", reuse_port = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest<UnixStream>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
