//! The handler and a hook call helper methods of the struct, from the same
//! `impl` block and from another one.

use socketserver::{StreamRequest, handle, hook, server};
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::thread;

#[server(concurrency = "sync")]
struct Shouter {
    suffix: &'static str,
    seen: Mutex<Vec<String>>,
}

impl Shouter {
    #[handle]
    fn serve(&self, req: &mut StreamRequest) -> io::Result<()> {
        let mut line = String::new();
        req.rfile().read_line(&mut line)?;
        let reply = self.shout(line.trim());
        self.remember(&reply);
        req.wfile().write_all(reply.as_bytes())
    }

    fn shout(&self, text: &str) -> String {
        format!("{}{}", Self::upper(text), self.suffix)
    }

    #[hook]
    fn verify_request(&self, client_address: &SocketAddr) -> bool {
        self.allowed(client_address)
    }
}

impl Shouter {
    fn upper(text: &str) -> String {
        text.to_uppercase()
    }

    fn remember(&self, reply: &str) {
        self.seen.lock().unwrap().push(reply.to_owned());
    }

    fn allowed(&self, client_address: &SocketAddr) -> bool {
        client_address.ip().is_loopback()
    }
}

fn main() -> io::Result<()> {
    let shouter = Shouter {
        suffix: "!",
        seen: Mutex::new(Vec::new()),
    };
    let mut server = shouter.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.write_all(b"hello\n")?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "HELLO!");
    assert_eq!(*server.service().seen.lock().unwrap(), ["HELLO!"]);
    Ok(())
}
