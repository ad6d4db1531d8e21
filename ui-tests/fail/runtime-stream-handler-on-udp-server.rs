//! Without the attributes, a handler of the wrong request kind is refused where
//! the server is bound.

use socketserver::{StreamRequest, ThreadingUdpServer, handler_fn};

fn main() {
    let handler = handler_fn(|_req: &mut StreamRequest| Ok(()));
    let _ = ThreadingUdpServer::bind("127.0.0.1:0", handler);
}
