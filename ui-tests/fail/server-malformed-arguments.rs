//! Something other than `key = value` settings in `#[server(...)]`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(,)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
