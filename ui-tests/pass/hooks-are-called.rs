//! Each `#[hook]` method replaces its hook: the server calls it, not the
//! default.

use socketserver::{RequestError, StreamRequest, handle, hook, server};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

#[server(concurrency = "sync", poll_interval = "10ms")]
struct Traced {
    refuse: AtomicBool,
    fail: AtomicBool,
    errors: Mutex<Vec<String>>,
    timeouts: AtomicUsize,
    actions: AtomicUsize,
}

impl Traced {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(io::Error::other("told to fail"));
        }
        req.wfile().write_all(b"handle ")
    }

    #[hook]
    fn setup(&self, req: &mut StreamRequest) -> io::Result<()> {
        req.wfile().write_all(b"setup ")
    }

    #[hook]
    fn finish(&self, req: &mut StreamRequest) -> io::Result<()> {
        req.wfile().write_all(b"finish")
    }

    #[hook]
    fn verify_request(&self, _client_address: &SocketAddr) -> bool {
        !self.refuse.load(Ordering::SeqCst)
    }

    #[hook]
    fn handle_error(&self, _client_address: &SocketAddr, error: &RequestError) {
        self.errors.lock().unwrap().push(error.to_string());
    }

    #[hook]
    fn handle_timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::SeqCst);
    }

    #[hook]
    fn service_actions(&self) {
        self.actions.fetch_add(1, Ordering::SeqCst);
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
    let traced = Traced {
        refuse: AtomicBool::new(false),
        fail: AtomicBool::new(false),
        errors: Mutex::new(Vec::new()),
        timeouts: AtomicUsize::new(0),
        actions: AtomicUsize::new(0),
    };
    let mut server = traced
        .builder()
        .accept_timeout(Some(Duration::from_millis(20)))
        .bind("127.0.0.1:0")?;
    let addr = *server.server_address();

    // setup, handle and finish, in that order.
    let client = ask(addr);
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "setup handle finish");

    // verify_request refuses: the client gets nothing.
    server.service().refuse.store(true, Ordering::SeqCst);
    let client = ask(addr);
    server.handle_request()?;
    assert_eq!(client.join().unwrap()?, "");
    server.service().refuse.store(false, Ordering::SeqCst);

    // The handler fails: handle_error sees it.
    server.service().fail.store(true, Ordering::SeqCst);
    let client = ask(addr);
    server.handle_request()?;
    let _ = client.join().unwrap();
    let errors = server.service().errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("told to fail"), "{errors:?}");

    // No request before the accept timeout: handle_timeout.
    server.handle_request()?;
    assert_eq!(server.service().timeouts.load(Ordering::SeqCst), 1);

    // serve_forever runs service_actions on every turn.
    let stop = server.shutdown_handle();
    let serving = thread::spawn(move || {
        let result = server.serve_forever();
        (result, server)
    });
    thread::sleep(Duration::from_millis(100));
    stop.shutdown();
    let (result, server) = serving.join().unwrap();
    result?;
    assert!(server.service().actions.load(Ordering::SeqCst) > 0);
    Ok(())
}
