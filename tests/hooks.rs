//! Python's hooks: `verify_request`, `handle_error`, `setup`/`handle`/`finish`,
//! `service_actions`, `handle_request`/`handle_timeout`, and what becomes of
//! the server when a hook fails or panics.

use socketserver::{
    RequestError, Server, Service, Stage, StreamRequest, Synchronous, Tcp, TcpServer, Threading,
    ThreadingTcpServer, handler_fn,
};
use socketserver_tests::{
    Running, capture_logs, connect, logged, read_to_end, round_trip, serve, wait_until,
};
use std::io::{self, BufRead, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LOOPBACK: &str = "127.0.0.1:0";

/// What `handle_error` was given.
#[derive(Clone, Debug, PartialEq)]
struct Reported {
    client: SocketAddr,
    stage: Stage,
    /// The kind and message of the I/O error, if it was one.
    io_error: Option<(ErrorKind, String)>,
    is_panic: bool,
    panic_message: Option<String>,
}

impl Reported {
    fn new(client: SocketAddr, error: &RequestError) -> Reported {
        Reported {
            client,
            stage: error.stage(),
            io_error: error.io_error().map(|e| (e.kind(), e.to_string())),
            is_panic: error.is_panic(),
            panic_message: error.panic_message().map(str::to_owned),
        }
    }

    fn io(client: SocketAddr, stage: Stage, message: &str) -> Reported {
        Reported {
            client,
            stage,
            io_error: Some((ErrorKind::Other, message.to_owned())),
            is_panic: false,
            panic_message: None,
        }
    }

    fn panic(client: SocketAddr, stage: Stage, message: &str) -> Reported {
        Reported {
            client,
            stage,
            io_error: None,
            is_panic: true,
            panic_message: Some(message.to_owned()),
        }
    }
}

/// Every hook call a [`Probe`] saw, shared with the test.
#[derive(Default)]
struct Seen {
    /// `setup`, `handle` and `finish`, in the order they ran.
    steps: Mutex<Vec<&'static str>>,
    verified: Mutex<Vec<SocketAddr>>,
    errors: Mutex<Vec<Reported>>,
    service_actions: AtomicUsize,
    timeouts: AtomicUsize,
}

impl Seen {
    fn step(&self, name: &'static str) {
        self.steps.lock().unwrap().push(name);
    }

    fn steps(&self) -> Vec<&'static str> {
        self.steps.lock().unwrap().clone()
    }

    fn verified(&self) -> Vec<SocketAddr> {
        self.verified.lock().unwrap().clone()
    }

    fn errors(&self) -> Vec<Reported> {
        self.errors.lock().unwrap().clone()
    }

    /// Waits until `handle_error` has been called `n` times and returns what it got.
    fn wait_for_errors(&self, n: usize) -> Vec<Reported> {
        wait_until("handle_error is called", || self.errors().len() >= n);
        self.errors()
    }
}

/// A service that records its hooks in `seen`. `handle` reads one line and
/// replies `got <line>`; then, if the line was `error` it returns an error, and
/// if it was `panic` it panics.
#[derive(Default)]
struct Probe {
    seen: Arc<Seen>,
    /// `verify_request` refuses the first client.
    refuse_first: bool,
    /// `setup` returns an error.
    fail_setup: bool,
    /// The hook (`verify_request`, `handle_error` or `service_actions`) that
    /// panics on its first call.
    panic_in: Option<&'static str>,
}

impl Probe {
    /// Panics if `hook` is the one to panic and this is its first call.
    fn maybe_panic(&self, hook: &str, call: usize) {
        if call == 1 && self.panic_in == Some(hook) {
            panic!("{hook} panicked on purpose");
        }
    }
}

impl Service for Probe {
    type Request = StreamRequest;

    fn setup(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.seen.step("setup");
        if self.fail_setup {
            return Err(io::Error::other("setup failed on purpose"));
        }
        Ok(())
    }

    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        self.seen.step("handle");
        let mut line = String::new();
        req.rfile().read_line(&mut line)?;
        let line = line.trim_end();
        write!(req.wfile(), "got {line}")?;
        match line {
            "error" => Err(io::Error::other("handle failed on purpose")),
            "panic" => panic!("handle panicked on purpose"),
            _ => Ok(()),
        }
    }

    fn finish(&self, _req: &mut StreamRequest) -> io::Result<()> {
        self.seen.step("finish");
        Ok(())
    }

    fn verify_request(&self, client: &SocketAddr) -> bool {
        let call = {
            let mut verified = self.seen.verified.lock().unwrap();
            verified.push(*client);
            verified.len()
        };
        self.maybe_panic("verify_request", call);
        !(self.refuse_first && call == 1)
    }

    fn handle_error(&self, client: &SocketAddr, error: &RequestError) {
        let call = {
            let mut errors = self.seen.errors.lock().unwrap();
            errors.push(Reported::new(*client, error));
            errors.len()
        };
        self.maybe_panic("handle_error", call);
    }

    fn handle_timeout(&self) {
        self.seen.timeouts.fetch_add(1, Ordering::SeqCst);
    }

    fn service_actions(&self) {
        let call = self.seen.service_actions.fetch_add(1, Ordering::SeqCst) + 1;
        self.maybe_panic("service_actions", call);
    }
}

/// Serves `probe` on loopback with concurrency `C`; returns what it will see.
fn start<C: socketserver::Drives<socketserver::StreamRequest> + Default>(
    probe: Probe,
) -> (Running, Arc<Seen>) {
    let seen = Arc::clone(&probe.seen);
    let server = Server::<Tcp, C, Probe>::builder(probe)
        .bind(LOOPBACK)
        .unwrap();
    (serve(server), seen)
}

/// Connects and sends `request`, then half-closes.
fn send(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut client = connect(addr);
    client.write_all(request).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    client
}

/// [`round_trip`], also returning the client's own address.
fn exchange(addr: SocketAddr, request: &[u8]) -> (SocketAddr, Vec<u8>) {
    let mut client = send(addr, request);
    (client.local_addr().unwrap(), read_to_end(&mut client))
}

#[test]
fn a_refused_client_sees_end_of_input_and_is_never_handled() {
    let (running, seen) = start::<Threading>(Probe {
        refuse_first: true,
        ..Probe::default()
    });
    let mut refused = connect(running.addr());
    let mut buf = [0; 16];
    assert_eq!(refused.read(&mut buf).unwrap(), 0, "{:?}", &buf);
    assert_eq!(seen.verified(), [refused.local_addr().unwrap()]);
    assert_eq!(seen.steps(), Vec::<&str>::new());
    // The next client is allowed.
    assert_eq!(round_trip(running.addr(), b"hello\n"), b"got hello");
    assert_eq!(seen.steps(), ["setup", "handle", "finish"]);
}

#[test]
fn handle_error_gets_the_client_and_the_error_handle_returned() {
    let (running, seen) = start::<Threading>(Probe::default());
    let (client, _) = exchange(running.addr(), b"error\n");
    assert_eq!(
        seen.wait_for_errors(1),
        [Reported::io(
            client,
            Stage::Handle,
            "handle failed on purpose"
        )]
    );
    assert_eq!(round_trip(running.addr(), b"again\n"), b"got again");
    assert_eq!(seen.errors().len(), 1);
}

/// A panic in `handle` reaches `handle_error`, and the server goes on serving.
fn handle_panic_is_reported<C: socketserver::Drives<socketserver::StreamRequest> + Default>() {
    let (running, seen) = start::<C>(Probe::default());
    let (client, _) = exchange(running.addr(), b"panic\n");
    assert_eq!(
        seen.wait_for_errors(1),
        [Reported::panic(
            client,
            Stage::Handle,
            "handle panicked on purpose"
        )]
    );
    assert_eq!(round_trip(running.addr(), b"again\n"), b"got again");
    assert_eq!(seen.errors().len(), 1);
}

#[test]
fn handle_error_gets_the_panic_of_handle_in_a_threading_server() {
    handle_panic_is_reported::<Threading>();
}

#[test]
fn handle_error_gets_the_panic_of_handle_in_a_synchronous_server() {
    // The handler runs, and panics, on the thread of the server loop.
    handle_panic_is_reported::<Synchronous>();
}

#[test]
fn default_handle_error_logs_the_client_and_the_error() {
    capture_logs();
    let failing = handler_fn(|_: &mut StreamRequest| Err(io::Error::other("marker-1f3a")));
    let running = serve(ThreadingTcpServer::bind(LOOPBACK, failing).unwrap());
    let (client, _) = exchange(running.addr(), b"");
    // Logged on the handler's thread.
    wait_until("the error is logged", || !logged("marker-1f3a").is_empty());
    let line = &logged("marker-1f3a")[0];
    assert!(line.starts_with("ERROR "), "{line}");
    assert!(line.contains(&client.to_string()), "{line}");
}

#[test]
fn default_handle_error_logs_a_panic_of_handle() {
    capture_logs();
    let panicking = handler_fn(|_: &mut StreamRequest| -> io::Result<()> { panic!("marker-7c2e") });
    let running = serve(TcpServer::bind(LOOPBACK, panicking).unwrap());
    let (client, _) = exchange(running.addr(), b"");
    wait_until("the panic is logged", || !logged("marker-7c2e").is_empty());
    let line = &logged("marker-7c2e")[0];
    assert!(line.starts_with("ERROR "), "{line}");
    assert!(line.contains(&client.to_string()), "{line}");
    // Where it panicked, as the standard panic message would have said.
    assert!(line.contains("panicked at tests/hooks.rs:"), "{line}");
}

/// A client that resets its connection is routine: logged at `debug` level,
/// never as a warning or an error, however many do it.
#[test]
fn clients_that_reset_their_connection_are_logged_at_debug_level() {
    capture_logs();
    let running = serve(ThreadingTcpServer::bind(LOOPBACK, socketserver_tests::echo()).unwrap());
    let mut clients = Vec::new();
    for _ in 0..20 {
        let mut client = connect(running.addr());
        client.write_all(b"x").unwrap();
        client.read_exact(&mut [0]).unwrap();
        // Closing with SO_LINGER 0 sends a reset instead of a FIN.
        let client = socket2::Socket::from(client);
        client.set_linger(Some(Duration::ZERO)).unwrap();
        clients.push(
            client
                .local_addr()
                .unwrap()
                .as_socket()
                .unwrap()
                .to_string(),
        );
        drop(client);
    }
    // Other tests' clients may have had the same address before: look only at
    // what is said of resets.
    let resets = |client: &str| -> Vec<String> {
        let about = format!("error serving {client}: ");
        logged(&about)
            .into_iter()
            .filter(|line| line.contains("reset"))
            .collect()
    };
    for client in &clients {
        wait_until("the reset is logged", || !resets(client).is_empty());
        for line in resets(client) {
            assert!(line.starts_with("DEBUG "), "{line}");
        }
    }
}

#[test]
fn setup_handle_and_finish_run_in_that_order() {
    let (running, seen) = start::<Threading>(Probe::default());
    assert_eq!(round_trip(running.addr(), b"hello\n"), b"got hello");
    assert_eq!(seen.steps(), ["setup", "handle", "finish"]);
    assert_eq!(seen.errors(), []);
}

#[test]
fn finish_runs_when_handle_returns_an_error() {
    let (running, seen) = start::<Threading>(Probe::default());
    round_trip(running.addr(), b"error\n");
    // `finish` runs before the connection closes, so before the client sees its end.
    assert_eq!(seen.steps(), ["setup", "handle", "finish"]);
}

#[test]
fn finish_runs_when_handle_panics() {
    let (running, seen) = start::<Threading>(Probe::default());
    round_trip(running.addr(), b"panic\n");
    assert_eq!(seen.steps(), ["setup", "handle", "finish"]);
}

#[test]
fn a_failed_setup_skips_handle_and_finish() {
    let (running, seen) = start::<Threading>(Probe {
        fail_setup: true,
        ..Probe::default()
    });
    // Sends nothing: unread input would make the close a reset.
    let (client, reply) = exchange(running.addr(), b"");
    assert_eq!(reply, b"");
    assert_eq!(
        seen.wait_for_errors(1),
        [Reported::io(
            client,
            Stage::Setup,
            "setup failed on purpose"
        )]
    );
    assert_eq!(seen.steps(), ["setup"]);
}

#[test]
fn output_written_before_a_handler_error_reaches_the_client() {
    let (running, _seen) = start::<Synchronous>(Probe::default());
    assert_eq!(round_trip(running.addr(), b"error\n"), b"got error");
}

#[test]
fn output_written_before_a_handler_panic_reaches_the_client() {
    let (running, _seen) = start::<Synchronous>(Probe::default());
    assert_eq!(round_trip(running.addr(), b"panic\n"), b"got panic");
}

#[test]
fn service_actions_is_called_while_serve_forever_runs() {
    let probe = Probe::default();
    let seen = Arc::clone(&probe.seen);
    let server = ThreadingTcpServer::builder(probe)
        .poll_interval(Duration::from_millis(10))
        .bind(LOOPBACK)
        .unwrap();
    let _running = serve(server);
    wait_until("service_actions has run 3 times", || {
        seen.service_actions.load(Ordering::SeqCst) >= 3
    });
}

#[test]
fn handle_request_serves_exactly_one_request() {
    let probe = Probe::default();
    let seen = Arc::clone(&probe.seen);
    let mut server = TcpServer::bind(LOOPBACK, probe).unwrap();
    let addr = *server.server_address();
    let mut first = send(addr, b"one\n");
    let mut second = send(addr, b"two\n");
    server.handle_request().unwrap();
    // A synchronous server has served the request when handle_request returns.
    assert_eq!(seen.steps(), ["setup", "handle", "finish"]);
    assert_eq!(read_to_end(&mut first), b"got one");
    server.handle_request().unwrap();
    assert_eq!(seen.steps().len(), 6);
    assert_eq!(read_to_end(&mut second), b"got two");
}

#[test]
fn handle_request_without_a_client_calls_handle_timeout_and_returns() {
    let probe = Probe::default();
    let seen = Arc::clone(&probe.seen);
    let mut server = TcpServer::builder(probe)
        .accept_timeout(Some(Duration::from_millis(50)))
        .bind(LOOPBACK)
        .unwrap();
    server.handle_request().unwrap();
    assert_eq!(seen.timeouts.load(Ordering::SeqCst), 1);
    assert_eq!(seen.steps(), Vec::<&str>::new());
}

#[test]
fn a_panic_in_verify_request_refuses_the_client_and_the_server_goes_on() {
    let (running, seen) = start::<Synchronous>(Probe {
        panic_in: Some("verify_request"),
        ..Probe::default()
    });
    let mut refused = connect(running.addr());
    let client = refused.local_addr().unwrap();
    assert_eq!(read_to_end(&mut refused), b"");
    assert_eq!(
        seen.wait_for_errors(1),
        [Reported::panic(
            client,
            Stage::Verify,
            "verify_request panicked on purpose"
        )]
    );
    assert_eq!(round_trip(running.addr(), b"hello\n"), b"got hello");
}

#[test]
fn a_panic_in_service_actions_does_not_stop_the_loop() {
    capture_logs();
    let probe = Probe {
        panic_in: Some("service_actions"),
        ..Probe::default()
    };
    let seen = Arc::clone(&probe.seen);
    let server = TcpServer::builder(probe)
        .poll_interval(Duration::from_millis(10))
        .bind(LOOPBACK)
        .unwrap();
    let running = serve(server);
    wait_until("service_actions has run 3 times", || {
        seen.service_actions.load(Ordering::SeqCst) >= 3
    });
    assert_eq!(round_trip(running.addr(), b"hello\n"), b"got hello");
    wait_until("the panic is logged", || {
        !logged("service_actions panicked on purpose").is_empty()
    });
}

#[test]
fn a_panic_in_handle_error_does_not_stop_the_server() {
    capture_logs();
    let (running, seen) = start::<Synchronous>(Probe {
        panic_in: Some("handle_error"),
        ..Probe::default()
    });
    let (client, reply) = exchange(running.addr(), b"error\n");
    assert_eq!(reply, b"got error");
    assert_eq!(seen.wait_for_errors(1).len(), 1);
    assert_eq!(round_trip(running.addr(), b"hello\n"), b"got hello");
    let reported = logged("`handle_error` panicked");
    assert!(
        reported
            .iter()
            .any(|line| line.contains(&client.to_string())),
        "{reported:?}"
    );
}
