//! Without the attributes, a handler of TCP connections is refused where a
//! Unix stream server is bound.

use socketserver::{StreamRequest, ThreadingUnixStreamServer, handler_fn};

fn main() {
    let handler = handler_fn(|_req: &mut StreamRequest| Ok(()));
    let _ = ThreadingUnixStreamServer::bind("/tmp/socketserver-never-bound.sock", handler);
}
