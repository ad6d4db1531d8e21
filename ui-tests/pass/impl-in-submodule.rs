//! The handler and a hook live in `impl` blocks of other modules of the crate:
//! the attributes find them there.

use socketserver::server;

#[server(concurrency = "sync")]
struct Split;

mod handler {
    use socketserver::{StreamRequest, handle};
    use std::io::{self, Write};

    impl super::Split {
        #[handle]
        fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
            req.wfile().write_all(b"hi")
        }
    }
}

mod hooks {
    use socketserver::hook;
    use std::net::SocketAddr;

    impl super::Split {
        #[hook]
        fn verify_request(&self, _client_address: &SocketAddr) -> bool {
            false
        }
    }
}

fn main() {
    use socketserver::Service;
    let server = Split.bind("127.0.0.1:0").unwrap();
    // The hook in `mod hooks` is the one in force: every client is refused.
    assert!(!server.service().verify_request(server.server_address()));
}
