//! The program defines its own `Result`, `io`, `Server`, `Option`, `Some`,
//! `Ok`, `Send`, `Sync`, `Duration` and `Builder`, and constants and unit
//! structs with the names a macro might give its parameters: the generated
//! code must not pick them up.

#![allow(dead_code, non_upper_case_globals, non_camel_case_types)]

use socketserver::{RequestError, StreamRequest, handle, hook, server};
use std::net::SocketAddr;

mod io {
    pub type Result = ();
}
struct Server;
enum Option {
    Nothing,
}
struct Some;
struct Ok;
type Result<T> = std::result::Result<T, String>;
trait Send {}
trait Sync {}
struct Duration;
struct Builder;
struct Request;
struct Service;
struct TcpStream;
struct ToSocketAddrs;
struct Fallback;
const request: u8 = 0;
const client_address: u8 = 0;
const error: u8 = 0;
struct addr;
struct arg1;

#[server(
    concurrency = "sync",
    backlog = 8,
    nodelay = true,
    timeout = "5s",
    poll_interval = "50ms",
    shutdown_timeout = "1s"
)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> std::io::Result<()> {
        std::io::Result::Ok(())
    }

    #[hook]
    fn setup(&self, _req: &mut StreamRequest) -> std::io::Result<()> {
        std::io::Result::Ok(())
    }

    #[hook]
    fn verify_request(&self, _client_address: &SocketAddr) -> bool {
        true
    }

    #[hook]
    fn handle_error(&self, _client_address: &SocketAddr, _error: &RequestError) {}
}

#[server(daemon_threads = true)]
struct Threaded;

impl Threaded {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> std::io::Result<()> {
        std::io::Result::Ok(())
    }
}

fn main() -> Result<()> {
    let server = Echo.bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    assert_ne!(server.server_address().port(), 0);
    let server = Threaded.bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    assert_ne!(server.server_address().port(), 0);
    Result::Ok(())
}
