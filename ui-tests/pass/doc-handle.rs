//! The example of `#[handle]`'s documentation, as it is there: it compiles,
//! and the server it describes serves.

include!("../../socketserver-macros/doc/handle.rs");

use std::net::{Shutdown, TcpStream};

fn main() -> io::Result<()> {
    let mut server = Echo.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = std::thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut client = TcpStream::connect(addr)?;
        client.write_all(b"ping")?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = Vec::new();
        client.read_to_end(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, b"ping");
    Ok(())
}
