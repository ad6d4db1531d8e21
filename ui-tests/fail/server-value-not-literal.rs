//! A key's value must be a literal, not a constant.

use socketserver::{StreamRequest, handle, server};
use std::io;

const SOME_CONST: i32 = 16;

#[server(backlog = SOME_CONST)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
