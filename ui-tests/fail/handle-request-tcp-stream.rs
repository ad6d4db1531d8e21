//! A handler taking the `TcpStream` itself: it takes the server's request,
//! which holds the stream.

use socketserver::{handle, server};
use std::io;
use std::net::TcpStream;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _stream: &mut TcpStream) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
