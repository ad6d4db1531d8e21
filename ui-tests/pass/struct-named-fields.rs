//! A struct with named fields, one of them state that every request updates.

use socketserver::{StreamRequest, handle, server};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

#[server(concurrency = "threading")]
struct Greeter {
    greeting: String,
    served: AtomicUsize,
}

impl Greeter {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        write!(req.wfile(), "{} #{n}", self.greeting)
    }
}

fn main() -> io::Result<()> {
    let greeter = Greeter {
        greeting: "hello".to_owned(),
        served: AtomicUsize::new(0),
    };
    let mut server = greeter.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    for expected in ["hello #1", "hello #2"] {
        let client = thread::spawn(move || -> io::Result<String> {
            let mut client = TcpStream::connect(addr)?;
            client.shutdown(Shutdown::Write)?;
            let mut reply = String::new();
            client.read_to_string(&mut reply)?;
            Ok(reply)
        });
        server.handle_request()?;
        assert_eq!(client.join().unwrap()?, expected);
    }
    assert_eq!(server.service().served.load(Ordering::SeqCst), 2);
    Ok(())
}
