//! A generic server whose type argument cannot be shared between threads:
//! reported where the server is bound.

use socketserver::{StreamRequest, handle, server};
use std::fmt::Display;
use std::io::{self, Write};
use std::rc::Rc;

#[server]
struct Reply<T: Display>(T);

impl<T: Display> Reply<T> {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        write!(req.wfile(), "{}", self.0)
    }
}

fn main() {
    let _ = Reply(Rc::new(1)).bind("127.0.0.1:0");
}
