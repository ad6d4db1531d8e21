//! Without the attributes, a buffer-shaped handler (`Conn`: a byte stream) is
//! refused where a UDP server is bound.

use socketserver::{Conn, ThreadingUdpServer, handler_fn};

fn main() {
    let handler = handler_fn(|_conn: &mut Conn| Ok(()));
    let _ = ThreadingUdpServer::bind("127.0.0.1:0", handler);
}
