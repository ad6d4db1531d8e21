//! The example of `#[server]`'s documentation, as it is there: it compiles,
//! and the server it describes serves.

include!("../../socketserver-macros/doc/server.rs");

use std::io::BufReader;
use std::net::TcpStream;

fn main() -> io::Result<()> {
    let upper = Upper {
        lines: AtomicU64::new(0),
    };
    let mut server = upper.builder().backlog(1024).bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = std::thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.write_all(b"hello\n")?;
        client.shutdown(std::net::Shutdown::Write)?;
        let mut reply = String::new();
        BufReader::new(client).read_line(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "HELLO\n");
    drop(server);
    Ok(())
}
