//! A handler whose request is not a `StreamRequest`.

use socketserver::{handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _line: &mut String) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
