//! `max_children` is an option of forking only (the default is threading).

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(max_children = 8)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
