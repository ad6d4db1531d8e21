//! The `Threading` concurrency model: a thread per connection, and what
//! closing waits for.

use socketserver::{StreamRequest, Threading, ThreadingTcpServer, handler_fn};
use socketserver_tests::{capture_logs, connect, echo, logged, read_to_end, serve, wait_until};
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

#[test]
fn two_hundred_concurrent_clients_each_get_their_own_bytes_back() {
    let running = serve(ThreadingTcpServer::bind("127.0.0.1:0", echo()).unwrap());
    // All connections stay open at once: a server serving one at a time would
    // never answer the second.
    let mut clients: Vec<_> = (0..200).map(|_| connect(running.addr())).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client
            .write_all(format!("client {i}\n").as_bytes())
            .unwrap();
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let expected = format!("client {i}\n");
        let mut reply = vec![0; expected.len()];
        client.read_exact(&mut reply).unwrap();
        assert_eq!(reply, expected.as_bytes());
    }
    drop(clients);
    running.stop().unwrap();
}

#[test]
fn closing_waits_for_handler_threads() {
    let finished = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&finished);
    let server = ThreadingTcpServer::bind(
        "127.0.0.1:0",
        handler_fn(move |req: &mut StreamRequest| {
            req.wfile().write_all(b"started")?;
            let mut rest = Vec::new();
            req.rfile().read_to_end(&mut rest)?;
            done.store(true, Ordering::SeqCst);
            Ok(())
        }),
    )
    .unwrap();
    let running = serve(server);
    let mut client = connect(running.addr());
    // Once this arrives the handler runs (a shutdown before the accept would
    // rightly leave the connection unserved).
    let mut started = [0; 7];
    client.read_exact(&mut started).unwrap();
    let handle = running.handle();
    let stopping = std::thread::spawn(move || running.stop());
    wait_until("the loop has stopped", || !handle.is_serving());
    // The server is closing now and must wait for this handler.
    client.shutdown(std::net::Shutdown::Write).unwrap();
    stopping.join().unwrap().unwrap();
    assert!(
        finished.load(Ordering::SeqCst),
        "close returned before the handler ended"
    );
}

#[test]
fn closing_shuts_down_connections_that_outstay_the_shutdown_timeout() {
    capture_logs();
    let server = ThreadingTcpServer::builder(echo())
        .shutdown_timeout(Duration::from_millis(50))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut idle = connect(running.addr());
    idle.write_all(b"x").unwrap();
    let mut byte = [0];
    idle.read_exact(&mut byte).unwrap();
    // Would wait forever for `idle` without the timeout.
    running.stop().unwrap();
    assert_eq!(read_to_end(&mut idle), b"");
    assert!(!logged("still open").is_empty());
}

#[test]
fn daemon_threads_are_not_waited_for() {
    for server in [
        ThreadingTcpServer::builder(echo()).daemon_threads(true),
        ThreadingTcpServer::builder(echo()).block_on_close(false),
        ThreadingTcpServer::builder(echo()).concurrency(Threading::default().daemon_threads(true)),
    ] {
        let running = serve(server.bind("127.0.0.1:0").unwrap());
        let mut client = connect(running.addr());
        client.write_all(b"a").unwrap();
        let mut byte = [0];
        client.read_exact(&mut byte).unwrap();
        running.stop().unwrap();
        // The server is closed, and its detached handler still serves.
        client.write_all(b"b").unwrap();
        client.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"b");
    }
}

#[test]
fn a_panicking_handler_does_not_stop_the_server() {
    let calls = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&calls);
    let server = ThreadingTcpServer::bind(
        "127.0.0.1:0",
        handler_fn(move |req: &mut StreamRequest| {
            if count.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                panic!("every other request panics");
            }
            req.wfile().write_all(b"ok")
        }),
    )
    .unwrap();
    let running = serve(server);
    for _ in 0..3 {
        let mut panicked = connect(running.addr());
        assert_eq!(read_to_end(&mut panicked), b"");
        let mut served = connect(running.addr());
        assert_eq!(read_to_end(&mut served), b"ok");
    }
    running.stop().unwrap();
}

/// CPython's `test_threads_reaped` (bpo-37193): a server driven only by
/// `handle_request` does not keep a handle of every thread it ever started.
#[test]
fn threads_are_reaped_under_handle_request() {
    let mut server = ThreadingTcpServer::bind("127.0.0.1:0", echo()).unwrap();
    let addr = *server.server_address();
    for i in 0..10 {
        let mut client = connect(addr);
        server.handle_request().unwrap();
        client.write_all(format!("request {i}").as_bytes()).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(read_to_end(&mut client), format!("request {i}").as_bytes());
        // The handler has closed the connection; its thread ends right after.
        wait_until("the request is done", || server.open_requests() == 0);
    }
    // Each `handle_request` reaps the threads that ended before it: those of
    // the earlier requests, but for one that may not quite have ended yet.
    let kept = server.concurrency().threads();
    assert!(kept < 5, "{kept} thread handles kept after 10 requests");
}

/// A thread whose request is done serves a later request instead of ending:
/// of 20 requests one after the other, some share a thread.
#[test]
fn threads_are_reused_for_later_requests() {
    let server = ThreadingTcpServer::bind(
        "127.0.0.1:0",
        handler_fn(|req: &mut StreamRequest| {
            write!(req.wfile(), "{:?}", std::thread::current().id())
        }),
    )
    .unwrap();
    let running = serve(server);
    let mut threads = std::collections::HashSet::new();
    for _ in 0..20 {
        let mut client = connect(running.addr());
        // Read to the end: the request is done when the connection closes.
        threads.insert(read_to_end(&mut client));
    }
    assert!(threads.len() < 20, "20 requests on 20 threads");
    running.stop().unwrap();
}
