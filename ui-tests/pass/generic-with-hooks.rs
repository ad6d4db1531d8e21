//! A generic struct with a where-clause, every hook, and the builder.

use socketserver::{RequestError, StreamRequest, handle, hook, server};
use std::fmt::Display;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

#[server(
    concurrency = "sync",
    backlog = 16,
    timeout = "5s",
    poll_interval = "100ms"
)]
struct Greeter<G>
where
    G: Display + Send + Sync + 'static,
{
    greeting: G,
    served: AtomicUsize,
}

impl<G> Greeter<G>
where
    G: Display + Send + Sync + 'static,
{
    #[handle]
    fn greet(&self, req: &mut StreamRequest) -> io::Result<()> {
        writeln!(req.wfile(), "{}", self.greeting)
    }

    #[hook]
    fn setup(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }

    #[hook]
    fn finish(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.served.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    #[hook]
    fn verify_request(&self, client_address: &SocketAddr) -> bool {
        client_address.ip().is_loopback()
    }

    #[hook]
    fn handle_error(&self, client_address: &SocketAddr, error: &RequestError) {
        eprintln!("{client_address}: {error}");
    }

    #[hook]
    fn handle_timeout(&self) {}

    #[hook]
    fn service_actions(&self) {}
}

fn main() -> io::Result<()> {
    let greeter = Greeter {
        greeting: "hello",
        served: AtomicUsize::new(0),
    };
    let server = greeter.builder().nodelay(true).bind("127.0.0.1:0")?;
    assert_eq!(server.service().served.load(Ordering::Relaxed), 0);
    Ok(())
}
