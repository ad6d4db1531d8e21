//! Servers written with `#[server]`, `#[handle]` and `#[hook]`, over real
//! sockets: the attribute's keys take effect, the marked hooks run, and the
//! unmarked ones keep their defaults.

use socketserver::{RequestError, Stage, StreamRequest, handle, hook, server};
use socketserver_tests::{
    capture_logs, connect, logged, read_to_end, round_trip, serve, wait_until,
};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[server(
    transport = "tcp",
    concurrency = "threading",
    nodelay = true,
    timeout = "100ms"
)]
struct Configured;

impl Configured {
    /// Reports the connection's settings, then waits for input that never
    /// comes: the 100 ms timeout ends it (with an error, logged).
    #[handle]
    fn report(&self, req: &mut StreamRequest) -> io::Result<()> {
        let nodelay = req.stream().nodelay()?;
        let timeout = req.stream().read_timeout()?;
        write!(req.wfile(), "nodelay={nodelay} timeout={timeout:?}")?;
        req.wfile().flush()?;
        req.rfile().read_exact(&mut [0])?;
        Ok(())
    }
}

#[test]
fn the_keys_of_the_attribute_configure_the_server() {
    capture_logs();
    let running = serve(Configured.bind("127.0.0.1:0").unwrap());
    let mut client = connect(running.addr());
    let reply = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert_eq!(reply, "nodelay=true timeout=Some(100ms)");
    // The timeout is reported through the default `handle_error`.
    let client_address = client.local_addr().unwrap().to_string();
    wait_until("the timeout is logged", || {
        logged(&client_address)
            .iter()
            .any(|l| l.contains("timeout"))
    });
}

#[server(concurrency = "sync")]
struct Hooked {
    events: Mutex<Vec<String>>,
    actions: AtomicUsize,
}

impl Hooked {
    fn record(&self, event: impl Into<String>) {
        self.events.lock().unwrap().push(event.into());
    }

    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        self.record("handle");
        let mut line = String::new();
        io::BufRead::read_line(&mut req.rfile(), &mut line)?;
        if line.starts_with("fail") {
            return Err(io::Error::other("asked to fail"));
        }
        req.wfile().write_all(line.as_bytes())
    }

    #[hook]
    fn setup(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.record("setup");
        Ok(())
    }

    #[hook]
    fn finish(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.record("finish");
        Ok(())
    }

    #[hook]
    fn verify_request(&self, client_address: &SocketAddr) -> bool {
        client_address.ip().is_loopback()
    }

    #[hook]
    fn handle_error(&self, _client_address: &SocketAddr, error: &RequestError) {
        assert_eq!(error.stage(), Stage::Handle);
        self.record(format!("error: {error}"));
    }

    #[hook]
    fn service_actions(&self) {
        self.actions.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn marked_hooks_run_around_the_handler() {
    let hooked = Hooked {
        events: Mutex::new(Vec::new()),
        actions: AtomicUsize::new(0),
    };
    let mut server = hooked
        .builder()
        .poll_interval(std::time::Duration::from_millis(5))
        .accept_timeout(Some(socketserver_tests::BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = *server.server_address();
    let client = std::thread::spawn(move || round_trip(addr, b"fail\n"));
    server.handle_request().unwrap();
    assert_eq!(client.join().unwrap(), b"");
    assert_eq!(
        *server.service().events.lock().unwrap(),
        [
            "setup",
            "handle",
            "error: `handle` failed: asked to fail",
            "finish"
        ]
    );
    let running = serve(server);
    assert_eq!(round_trip(running.addr(), b"ok\n"), b"ok\n");
}

#[server]
struct Defaults(&'static str);

impl Defaults {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        req.wfile().write_all(self.0.as_bytes())?;
        Err(io::Error::other("after the greeting"))
    }
}

#[test]
fn unmarked_hooks_keep_their_defaults() {
    capture_logs();
    let running = serve(Defaults("hi").bind("127.0.0.1:0").unwrap());
    let mut client = connect(running.addr());
    assert_eq!(read_to_end(&mut client), b"hi");
    // The default `handle_error` logs the client and the error.
    let client_address = client.local_addr().unwrap().to_string();
    wait_until("the error is logged", || {
        logged(&client_address)
            .iter()
            .any(|l| l.contains("after the greeting"))
    });
}

static SERVED: AtomicUsize = AtomicUsize::new(0);

#[server(
    concurrency = "threading",
    daemon_threads = false,
    shutdown_timeout = "50ms"
)]
struct Counted;

impl Counted {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        SERVED.fetch_add(1, Ordering::SeqCst);
        let mut rest = Vec::new();
        req.rfile().read_to_end(&mut rest)?;
        Ok(())
    }
}

#[test]
fn the_shutdown_timeout_key_bounds_closing() {
    let running = serve(Counted.bind("127.0.0.1:0").unwrap());
    let _idle = connect(running.addr());
    wait_until("the handler runs", || SERVED.load(Ordering::SeqCst) == 1);
    // Without the 50 ms shutdown timeout this would wait for `_idle` forever.
    running.stop().unwrap();
}
