//! `conn` takes a type, as a string.

use socketserver::{Conn, handle, server};
use std::io;

#[server(conn = "Lines per connection")]
struct Counter;

impl Counter {
    #[handle]
    fn handle(&self, _conn: &mut Conn) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
