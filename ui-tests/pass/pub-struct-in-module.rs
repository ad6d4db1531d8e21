//! A `pub` server struct in a module, built and bound from outside it; its
//! handler stays private to the module.

mod service {
    use socketserver::{StreamRequest, handle, server};
    use std::io::{self, Write};

    #[server(concurrency = "sync", backlog = 16)]
    pub struct Banner {
        pub text: &'static str,
    }

    impl Banner {
        #[handle]
        fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
            req.wfile().write_all(self.text.as_bytes())
        }
    }
}

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::thread;

fn main() -> io::Result<()> {
    let mut server = service::Banner { text: "welcome" }
        .builder()
        .backlog(32)
        .bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "welcome");
    assert_eq!(server.service().text, "welcome");

    let other = service::Banner { text: "x" }.bind("127.0.0.1:0")?;
    assert_ne!(other.server_address().port(), 0);
    Ok(())
}
