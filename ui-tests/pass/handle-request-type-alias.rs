//! The request written through a type alias of `StreamRequest` is accepted:
//! the compiler, not the macro's reading of names, judges the type.

use socketserver::{StreamRequest, handle, server};
use std::io;

type Req = StreamRequest;

#[server]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut Req) -> io::Result<()> {
        Ok(())
    }
}

fn main() {}
