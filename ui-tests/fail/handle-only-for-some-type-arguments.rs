//! The handler is in an `impl` block for one type argument only, so a server
//! of any other type argument would have none.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server]
struct Tagged<T: Send + Sync + 'static>(T);

impl Tagged<u8> {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
