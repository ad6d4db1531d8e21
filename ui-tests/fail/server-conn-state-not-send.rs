//! A connection's state moves with it between threads: it must be `Send`.
//! One error, on the string that names it, though a hook takes the client's
//! address too.

use socketserver::{Conn, handle, hook, server};
use std::io;
use std::net::SocketAddr;

#[server(conn = "std::rc::Rc<u8>")]
struct Counter;

impl Counter {
    #[handle]
    fn handle(&self, _conn: &mut Conn<std::rc::Rc<u8>>) -> io::Result<()> {
        Ok(())
    }

    #[hook]
    fn verify_request(&self, _client: &SocketAddr) -> bool {
        true
    }
}

fn main() {}
