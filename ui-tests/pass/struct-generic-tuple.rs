//! Generic tuple structs: bounds inline, and in a where-clause.

use socketserver::{StreamRequest, handle, server};
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;

#[server(concurrency = "sync")]
struct Reply<T: Display + Send + Sync + 'static>(T);

#[server(concurrency = "sync", nodelay = true)]
struct Pair<T, U>(T, U)
where
    T: Display + Send + Sync + 'static,
    U: Display + Send + Sync + 'static;

impl<T: Display + Send + Sync + 'static> Reply<T> {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        write!(req.wfile(), "{}", self.0)
    }
}

impl<T, U> Pair<T, U>
where
    T: Display + Send + Sync + 'static,
    U: Display + Send + Sync + 'static,
{
    #[handle]
    fn both(&self, req: &mut StreamRequest) -> io::Result<()> {
        write!(req.wfile(), "{} {}", self.0, self.1)
    }
}

fn ask(addr: SocketAddr) -> thread::JoinHandle<io::Result<String>> {
    thread::spawn(move || {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    })
}

fn main() -> io::Result<()> {
    let mut server = Reply(7_u8).bind("127.0.0.1:0")?;
    let client = ask(*server.server_address());
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "7");

    let mut server = Pair("left", 'r').bind("127.0.0.1:0")?;
    let client = ask(*server.server_address());
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "left r");
    Ok(())
}
