//! The state of each connection is made with `Default` when it opens.

use socketserver::{Conn, handle, server};
use std::io;

struct Session {
    name: String,
}

#[server(conn = "Session")]
struct Chat;

impl Chat {
    #[handle]
    fn handle(&self, conn: &mut Conn<Session>) -> io::Result<()> {
        let _ = &conn.state().name;
        Ok(())
    }
}

fn main() {}
