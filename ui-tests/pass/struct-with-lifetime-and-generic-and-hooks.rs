//! A struct with a lifetime and a type parameter, every hook, and lifetimes
//! in the methods' own signatures: the checks of each parameter's type hold in
//! an `impl` block with the struct's lifetime and type parameter, and are not
//! stricter than the server (which needs `'static` only where it is bound).

use socketserver::{RequestError, StreamRequest, handle, hook, server};
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;

#[server(concurrency = "sync")]
struct Labelled<'a, T: Display + Send + Sync> {
    label: &'a str,
    value: T,
    log: Mutex<Vec<String>>,
}

impl<'a, T: Display + Send + Sync> Labelled<'a, T> {
    #[handle]
    fn handle<'r>(&'r self, req: &'r mut StreamRequest) -> io::Result<()> {
        write!(req.wfile(), "{}={}", self.label, self.value)
    }

    #[hook]
    fn setup(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.log.lock().unwrap().push("setup".into());
        Ok(())
    }

    #[hook]
    fn finish(self: &Self, _req: &mut StreamRequest) -> io::Result<()> {
        self.log.lock().unwrap().push("finish".into());
        Ok(())
    }

    #[hook]
    fn verify_request<'c>(&self, client_address: &'c SocketAddr) -> bool {
        client_address.ip().is_loopback()
    }

    #[hook]
    fn handle_error<'e>(&'e self, client_address: &'e SocketAddr, error: &'e RequestError) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{client_address}: {error}"));
    }

    #[hook]
    fn handle_timeout(&self) {}

    #[hook]
    fn service_actions(&self) {}
}

fn main() -> io::Result<()> {
    let labelled = Labelled {
        label: "answer",
        value: 42_u8,
        log: Mutex::new(Vec::new()),
    };
    let mut server = labelled.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = std::thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "answer=42");
    assert_eq!(*server.service().log.lock().unwrap(), ["setup", "finish"]);
    Ok(())
}
