//! `conn` takes its type in a string; written out, it is one error that says
//! how to write it, and the handler of that type is not a second one.

use socketserver::{Conn, handle, server};
use std::io;

#[server(conn = Vec<u8>)]
struct Buffered;

impl Buffered {
    #[handle]
    fn handle(&self, _conn: &mut Conn<Vec<u8>>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
