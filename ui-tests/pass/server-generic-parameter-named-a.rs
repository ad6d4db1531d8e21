//! A generic struct whose type parameter is named `A`: the generated methods
//! use no type parameter names of their own, so none can clash.

use socketserver::{StreamRequest, handle, server};
use std::fmt::Display;
use std::io::{self, Write};

#[server]
struct Reply<A: Display + Send + Sync + 'static>(A);

impl<A: Display + Send + Sync + 'static> Reply<A> {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        writeln!(req.wfile(), "{}", self.0)
    }
}

fn main() {
    let server = Reply("hi").bind("127.0.0.1:0").unwrap();
    assert_ne!(server.server_address().port(), 0);
}
