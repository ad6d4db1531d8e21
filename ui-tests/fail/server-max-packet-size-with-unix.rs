//! `max_packet_size` is an option of datagram transports; `"unix"` is a stream
//! transport (`"unix_datagram"` is the datagram one).

use socketserver::{StreamRequest, handle, server};
use std::io;
use std::os::unix::net::UnixStream;

#[server(transport = "unix", max_packet_size = 1500)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest<UnixStream>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
