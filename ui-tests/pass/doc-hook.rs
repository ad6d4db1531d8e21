//! The example of `#[hook]`'s documentation, as it is there: it compiles,
//! and its hooks run.

include!("../../socketserver-macros/doc/hook.rs");

use std::io::Read;
use std::net::{Shutdown, TcpStream};

fn main() -> io::Result<()> {
    let greeter = Greeter {
        refused: AtomicU64::new(0),
    };
    let mut server = greeter.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = std::thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "hello\n");
    assert_eq!(server.service().refused.load(Ordering::Relaxed), 0);
    Ok(())
}
