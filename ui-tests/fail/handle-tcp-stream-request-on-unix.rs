//! `StreamRequest` alone is a TCP connection (`StreamRequest<TcpStream>`); a
//! Unix stream server's handler takes `StreamRequest<UnixStream>`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(transport = "unix")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
