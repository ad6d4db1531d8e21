//! A key set with `:` instead of `=`: one error, and the rest is still read.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[rustfmt::skip] // rustfmt would drop what follows the `:`
#[server(transport: "tcp", backlog = 16)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
