//! The loop's life: `serve_forever`, `shutdown` from any thread, closing.
//! Each lifecycle bug CPython ever fixed in socketserver has its test here.

use socketserver::{Service, StreamRequest, TcpServer, ThreadingTcpServer, handler_fn};
use socketserver_tests::{
    BOUND, capture_logs, connect, echo, echo_request, logged, round_trip, serve, wait_until,
};
use std::io::{self, BufRead, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `f` on a thread and fails the test if it does not return within the bound.
fn within_bound<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("{what} did not return within {BOUND:?}"))
}

#[test]
fn shutdown_is_prompt_even_with_a_poll_interval_of_an_hour() {
    let server = ThreadingTcpServer::builder(echo())
        .poll_interval(Duration::from_secs(3600))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let handle = running.handle();
    wait_until("the loop runs", || handle.is_serving());
    let start = Instant::now();
    handle.shutdown();
    // Woken through the waker: far below the hour a polling loop would take.
    assert!(
        start.elapsed() < BOUND,
        "shutdown took {:?}",
        start.elapsed()
    );
    assert!(!handle.is_serving());
    running.stop().unwrap();
}

#[test]
fn shutdown_returns_at_once_when_no_loop_runs() {
    let server = TcpServer::bind("127.0.0.1:0", echo()).unwrap();
    let handle = server.shutdown_handle();
    within_bound("shutdown() without a loop", move || handle.shutdown());
}

#[test]
fn shutdown_before_serve_forever_makes_it_return_at_once() {
    // bpo-2302: a shutdown that comes before the loop starts is not lost.
    let mut server = TcpServer::bind("127.0.0.1:0", echo()).unwrap();
    server.shutdown_handle().shutdown();
    within_bound("serve_forever after shutdown", move || {
        server.serve_forever()
    })
    .unwrap();
}

#[test]
fn shutdown_right_after_start_stops_the_loop() {
    let mut server = ThreadingTcpServer::bind("127.0.0.1:0", echo()).unwrap();
    let handle = server.shutdown_handle();
    let serving = thread::spawn(move || server.serve_forever());
    handle.shutdown();
    let joined = within_bound("the loop", move || serving.join().unwrap());
    joined.unwrap();
}

#[test]
fn a_server_serves_again_after_a_shutdown() {
    let mut server = ThreadingTcpServer::bind("127.0.0.1:0", echo()).unwrap();
    let addr = *server.server_address();
    let handle = server.shutdown_handle();
    for round in 0..3 {
        let serving = thread::spawn(move || {
            server.serve_forever().unwrap();
            server
        });
        assert_eq!(round_trip(addr, b"again"), b"again", "round {round}");
        handle.shutdown();
        server = serving.join().unwrap();
    }
}

#[test]
fn no_request_is_accepted_after_shutdown() {
    // bpo-35017: two clients wait in the queue; the first handler asks for a
    // shutdown, and the second client must not be served.
    let served = Arc::new(AtomicUsize::new(0));
    let handle_slot = Arc::new(std::sync::OnceLock::new());
    let (count, slot) = (Arc::clone(&served), Arc::clone(&handle_slot));
    let mut server = TcpServer::bind(
        "127.0.0.1:0",
        handler_fn(move |_: &mut StreamRequest| {
            count.fetch_add(1, Ordering::SeqCst);
            // From the loop's own thread: asks, and must not deadlock.
            slot.get().map(socketserver::ShutdownHandle::shutdown);
            Ok(())
        }),
    )
    .unwrap();
    handle_slot.set(server.shutdown_handle()).unwrap();
    let addr = *server.server_address();
    let first = connect(addr);
    let second = connect(addr);
    within_bound("serve_forever", move || server.serve_forever()).unwrap();
    assert_eq!(served.load(Ordering::SeqCst), 1);
    drop((first, second));
}

#[test]
fn shutdown_ends_a_synchronous_handler_stuck_on_an_idle_client() {
    capture_logs();
    let server = TcpServer::builder(echo())
        .shutdown_timeout(Duration::from_millis(50))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let gave_up = format!("server on {} is still busy", running.addr());
    let mut idle = connect(running.addr());
    // The handler is blocked reading from `idle` once this echo comes back.
    idle.write_all(b"x").unwrap();
    let mut byte = [0];
    idle.read_exact(&mut byte).unwrap();
    let handle = running.handle();
    within_bound("shutdown", move || handle.shutdown());
    // The server shut the connection down: end of input, not a hang.
    assert_eq!(idle.read(&mut byte).unwrap(), 0);
    assert!(!logged(&gave_up).is_empty());
    running.stop().unwrap();
}

#[test]
fn a_dropped_server_refuses_connections() {
    let server = TcpServer::bind("127.0.0.1:0", echo()).unwrap();
    let addr = *server.server_address();
    server.server_close();
    let error = TcpStream::connect_timeout(&addr, BOUND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn serve_forever_and_handle_request_mix() {
    let mut server = TcpServer::builder(echo())
        .accept_timeout(Some(BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = *server.server_address();
    let client = thread::spawn(move || round_trip(addr, b"one"));
    server.handle_request().unwrap();
    assert_eq!(client.join().unwrap(), b"one");
    let running = serve(server);
    assert_eq!(round_trip(addr, b"two"), b"two");
    running.stop().unwrap();
}

#[test]
fn open_requests_counts_connections_being_served() {
    let mut server = ThreadingTcpServer::bind("127.0.0.1:0", echo()).unwrap();
    let addr = *server.server_address();
    let handle = server.shutdown_handle();
    let serving = thread::spawn(move || {
        server.serve_forever().unwrap();
        server
    });
    let mut client = connect(addr);
    client.write_all(b"hi").unwrap();
    let mut reply = [0; 2];
    client.read_exact(&mut reply).unwrap();
    handle.shutdown();
    // The loop has stopped; the handler thread still serves `client`.
    let server = serving.join().unwrap();
    assert_eq!(server.open_requests(), 1);
    drop(client);
    wait_until("the handler ends", || server.open_requests() == 0);
}

#[test]
fn a_handler_error_on_one_connection_leaves_others_alone() -> io::Result<()> {
    let server = ThreadingTcpServer::bind(
        "127.0.0.1:0",
        handler_fn(|req: &mut StreamRequest| {
            let mut line = String::new();
            req.rfile().read_line(&mut line)?;
            if line.starts_with("fail") {
                return Err(io::Error::other("asked to fail"));
            }
            req.wfile().write_all(line.as_bytes())
        }),
    )?;
    let running = serve(server);
    assert_eq!(round_trip(running.addr(), b"fail\n"), b"");
    assert_eq!(round_trip(running.addr(), b"fine\n"), b"fine\n");
    running.stop()
}

/// A service whose `service_actions` blocks, once `stuck` is set, until `go`
/// says so: a loop that is slow to stop.
struct SlowLoop {
    stuck: Arc<AtomicBool>,
    blocked: Arc<AtomicBool>,
    go: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Service for SlowLoop {
    type Request = StreamRequest;

    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        echo_request(req)
    }

    fn service_actions(&self) {
        if self.stuck.load(Ordering::SeqCst) {
            let go = self.go.lock().unwrap().take();
            self.blocked.store(true, Ordering::SeqCst);
            if let Some(go) = go {
                go.recv_timeout(BOUND).unwrap();
            }
        }
    }
}

#[test]
fn a_slow_shutdown_leaves_connections_of_other_threads_alone() {
    capture_logs();
    let (stuck, blocked) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (go, wait) = mpsc::channel();
    let server = ThreadingTcpServer::builder(SlowLoop {
        stuck: Arc::clone(&stuck),
        blocked: Arc::clone(&blocked),
        go: Mutex::new(Some(wait)),
    })
    .poll_interval(Duration::from_millis(5))
    .shutdown_timeout(Duration::from_millis(20))
    .bind("127.0.0.1:0")
    .unwrap();
    let running = serve(server);
    let gave_up = format!("server on {} is still busy", running.addr());
    let mut client = connect(running.addr());
    let mut byte = [0];
    client.write_all(b"a").unwrap();
    client.read_exact(&mut byte).unwrap();

    stuck.store(true, Ordering::SeqCst);
    wait_until("service_actions blocks", || blocked.load(Ordering::SeqCst));
    let handle = running.handle();
    let shutting_down = thread::spawn(move || handle.shutdown());
    wait_until("shutdown gives up waiting", || !logged(&gave_up).is_empty());
    // The handler runs on its own thread: the shutdown must not have cut it off.
    client.write_all(b"b").unwrap();
    client.read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"b");
    go.send(()).unwrap();
    within_bound("shutdown", move || shutting_down.join().unwrap());
    drop(client);
    running.stop().unwrap();
}

#[test]
fn a_server_serves_normally_after_a_shutdown_that_timed_out() {
    let mut server = TcpServer::builder(echo())
        .shutdown_timeout(Duration::from_millis(20))
        .accept_timeout(Some(BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = *server.server_address();
    let handle = server.shutdown_handle();
    let serving = thread::spawn(move || {
        server.serve_forever().unwrap();
        server
    });
    let mut idle = connect(addr);
    idle.write_all(b"x").unwrap();
    let mut byte = [0];
    idle.read_exact(&mut byte).unwrap();
    within_bound("shutdown", move || handle.shutdown());
    let mut server = serving.join().unwrap();
    // The stuck connection was shut down; new ones are not.
    let client = thread::spawn(move || round_trip(addr, b"fresh"));
    server.handle_request().unwrap();
    assert_eq!(client.join().unwrap(), b"fresh");
}
