//! A backlog that does not fit the socket API's `int`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(backlog = 3000000000)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
