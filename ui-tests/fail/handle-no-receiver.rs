//! A handler without `&self`.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(_req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
