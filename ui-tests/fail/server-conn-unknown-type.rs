//! A state type that does not exist is an error on the string that names it.

use socketserver::{Conn, handle, server};
use std::io;

#[derive(Default)]
struct Session;

#[server(conn = "Sesion")]
struct Chat;

impl Chat {
    #[handle]
    fn handle(&self, _conn: &mut Conn<Session>) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
