//! Python's `disable_nagle_algorithm` is `nodelay` here.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(disable_nagle_algorithm = true)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
