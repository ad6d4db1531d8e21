//! A service whose requests stay open until the test lets each one go, with
//! counters of what the server did: the connections it accepted, the turns of
//! its loop, the requests its handlers started and finished. For the tests of
//! bounds (a pool's, `max_connections`), which must tell "accepted" from
//! "waiting in the backlog" without timing.
//!
//! A request of the gate sends `+` as soon as its handler starts, then reads
//! until the client closes its side, and ends. A client that sends `p` makes
//! the handler panic instead.

use crate::wait_until;
use socketserver::StreamRequest;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the server did, as the gate saw it.
#[derive(Debug, Default)]
pub struct Counters {
    accepted: AtomicUsize,
    turns: AtomicUsize,
    started: AtomicUsize,
    finished: AtomicUsize,
    timeouts: AtomicUsize,
    errors: AtomicUsize,
}

impl Counters {
    /// Connections accepted (each goes through `verify_request`).
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Handlers started.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Handlers that ended normally.
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// `handle_timeout` calls: `handle_request` waited and accepted nothing.
    pub fn timeouts(&self) -> usize {
        self.timeouts.load(Ordering::SeqCst)
    }

    /// Errors and panics passed to `handle_error`.
    pub fn errors(&self) -> usize {
        self.errors.load(Ordering::SeqCst)
    }

    /// Waits until the loop of `serve_forever` has made a whole turn that
    /// began after this call: everything that was waiting to be accepted
    /// when this was called has had its chance.
    pub fn full_turn(&self) {
        let now = self.turns.load(Ordering::SeqCst);
        // The turn that ends at `now + 1` may have begun before the call; the
        // next one began after it.
        wait_until("the server loop has made a whole turn", || {
            self.turns.load(Ordering::SeqCst) >= now + 2
        });
    }
}

/// The service: see the module's documentation.
#[derive(Debug, Default)]
pub struct Gate {
    counters: Arc<Counters>,
}

impl Gate {
    /// A gate, and its counters.
    pub fn new() -> (Gate, Arc<Counters>) {
        let gate = Gate::default();
        let counters = Arc::clone(&gate.counters);
        (gate, counters)
    }
}

impl socketserver::Service for Gate {
    type Request = StreamRequest;

    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        self.counters.started.fetch_add(1, Ordering::SeqCst);
        req.wfile().write_all(b"+")?;
        let mut buf = [0; 64];
        loop {
            // What was written is sent before this waits.
            let n = req.rfile().read(&mut buf)?;
            if n == 0 {
                break;
            }
            assert!(!buf[..n].contains(&b'p'), "the client asked for a panic");
        }
        self.counters.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn verify_request(&self, _client: &SocketAddr) -> bool {
        self.counters.accepted.fetch_add(1, Ordering::SeqCst);
        true
    }

    fn handle_error(&self, _client: &SocketAddr, _error: &socketserver::RequestError) {
        self.counters.errors.fetch_add(1, Ordering::SeqCst);
    }

    fn handle_timeout(&self) {
        self.counters.timeouts.fetch_add(1, Ordering::SeqCst);
    }

    fn service_actions(&self) {
        self.counters.turns.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads the `+` a gate's handler sends when it starts (waiting up to the
/// client's read timeout).
pub fn expect_started(client: &mut TcpStream) {
    let mut byte = [0];
    client
        .read_exact(&mut byte)
        .expect("the handler of this connection started");
    assert_eq!(&byte, b"+");
}

/// Asserts that no handler serves `client` now: nothing has come from the
/// server, and the connection is not closed.
pub fn assert_not_started(client: &TcpStream) {
    client.set_nonblocking(true).unwrap();
    let mut byte = [0];
    let read = (&*client).read(&mut byte);
    client.set_nonblocking(false).unwrap();
    match read {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected no handler to serve this connection yet, read {other:?}"),
    }
}

/// Lets a started request end: closes the client's side and waits until the
/// server has closed the connection.
pub fn release(mut client: TcpStream) {
    client.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    client
        .read_to_end(&mut rest)
        .expect("the server closes the connection");
    assert_eq!(rest, b"");
}

/// Sends `p`: the handler, once started, panics.
pub fn make_it_panic(mut client: TcpStream) {
    client.write_all(b"p").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    // Closed by the server after the panic (a reset is fine as well).
    let _ = client.read_to_end(&mut rest);
}
