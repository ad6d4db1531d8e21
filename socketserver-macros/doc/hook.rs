use socketserver::{RequestError, StreamRequest, handle, hook, server};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

#[server(concurrency = "sync", poll_interval = "1s")]
struct Greeter {
    refused: AtomicU64,
}

impl Greeter {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        req.wfile().write_all(b"hello\n")
    }

    /// Serves local clients only.
    #[hook]
    fn verify_request(&self, client_address: &SocketAddr) -> bool {
        let local = client_address.ip().is_loopback();
        if !local {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        local
    }

    /// Says which client failed, and how.
    #[hook]
    fn handle_error(&self, client_address: &SocketAddr, error: &RequestError) {
        eprintln!("{client_address}: {error}");
    }

    /// Runs on every turn of the loop, at least once a second here.
    #[hook]
    fn service_actions(&self) {
        let _refused = self.refused.load(Ordering::Relaxed);
    }
}
