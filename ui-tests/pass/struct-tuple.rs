//! A tuple struct: the handler reads its field.

use socketserver::{StreamRequest, handle, server};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

#[server(concurrency = "sync")]
struct Tagged(u32);

impl Tagged {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        write!(req.wfile(), "tag {}", self.0)
    }
}

fn main() -> io::Result<()> {
    let mut server = Tagged(42).bind("127.0.0.1:0")?;
    assert_eq!(server.service().0, 42);
    let addr = *server.server_address();
    let client = thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "tag 42");
    Ok(())
}
