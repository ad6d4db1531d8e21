//! A handler with no request parameter.

use socketserver::{handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
