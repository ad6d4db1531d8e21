//! Under `#![no_implicit_prelude]` nothing is in scope that the program does
//! not name: the generated code must reach everything by absolute path.

#![no_implicit_prelude]

use ::socketserver::{RequestError, StreamRequest, handle, hook, server};
use ::std::io::{Read, Write};
use ::std::net::{Shutdown, SocketAddr, TcpStream};

#[server(
    concurrency = "sync",
    backlog = 8,
    nodelay = true,
    timeout = "5s",
    poll_interval = "50ms",
    shutdown_timeout = "1s"
)]
struct Echo {
    prefix: &'static str,
}

impl Echo {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> ::std::io::Result<()> {
        ::std::write!(req.wfile(), "{}ok", self.prefix)
    }

    #[hook]
    fn setup(&self, _req: &mut StreamRequest) -> ::std::io::Result<()> {
        ::std::result::Result::Ok(())
    }

    #[hook]
    fn finish(&self, _req: &mut StreamRequest) -> ::std::io::Result<()> {
        ::std::result::Result::Ok(())
    }

    #[hook]
    fn verify_request(&self, client_address: &SocketAddr) -> bool {
        client_address.ip().is_loopback()
    }

    #[hook]
    fn handle_error(&self, client_address: &SocketAddr, error: &RequestError) {
        ::std::eprintln!("{client_address}: {error}");
    }

    #[hook]
    fn handle_timeout(&self) {}

    #[hook]
    fn service_actions(&self) {}
}

#[server(
    concurrency = "threading",
    daemon_threads = true,
    block_on_close = false
)]
struct Threaded;

impl Threaded {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> ::std::io::Result<()> {
        ::std::result::Result::Ok(())
    }
}

fn main() -> ::std::io::Result<()> {
    let mut server = Echo { prefix: "> " }.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = ::std::thread::spawn(move || -> ::std::io::Result<::std::string::String> {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = ::std::string::String::new();
        client.read_to_string(&mut reply)?;
        ::std::result::Result::Ok(reply)
    });
    server.handle_request()?;
    let reply = client.join().unwrap()?;
    ::std::assert_eq!(reply, "> ok");

    let threaded = Threaded.builder().bind("127.0.0.1:0")?;
    ::std::assert_ne!(threaded.server_address().port(), 0);
    ::std::result::Result::Ok(())
}
