//! The request written through a type alias of `StreamRequest`. This should
//! compile: see the report (the macro judges the type by its last name).

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
