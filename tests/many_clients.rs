//! Many clients at once under `Threading` and `Pool`: every request is served
//! exactly once and answered to its own client, `max_connections` holds under
//! a stream of short connections, nothing is served after `shutdown()`, and
//! `handle_request` serves exactly one request per call.

use socketserver::{
    DatagramRequest, Pool, Server, Service, StreamRequest, Threading, Udp, handler_fn,
};
use socketserver_tests::{BOUND, connect, read_to_end, serve, wait_until};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// Replies to each datagram with its bytes reversed.
fn reverse() -> impl Service<Request = DatagramRequest> {
    handler_fn(|req: &mut DatagramRequest| {
        let mut reply = req.packet().to_vec();
        reply.reverse();
        req.wfile().write_all(&reply)
    })
}

fn client_for(server: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(BOUND)).unwrap();
    socket.connect(server).unwrap();
    socket
}

/// Eight clients, each with 300 datagrams of its own, one in flight at a
/// time: every reply is the reply to that client's last datagram.
fn many_clients_each_get_their_own_replies<
    C: socketserver::Drives<socketserver::DatagramRequest>,
>(
    concurrency: C,
) {
    let server = Server::<Udp, Threading, _>::builder(reverse())
        .concurrency(concurrency)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    thread::scope(|s| {
        for client in 0..8 {
            s.spawn(move || {
                let socket = client_for(addr);
                let mut reply = [0; 64];
                for n in 0..300 {
                    let request = format!("client {client} datagram {n}");
                    socket.send(request.as_bytes()).unwrap();
                    let got = socket.recv(&mut reply).expect("a reply");
                    let mut expected = request.into_bytes();
                    expected.reverse();
                    assert_eq!(&reply[..got], &expected[..]);
                }
            });
        }
    });
}

#[test]
fn threading_answers_every_datagram_of_many_clients() {
    many_clients_each_get_their_own_replies(Threading::default());
}

#[test]
fn pool_answers_every_datagram_of_many_clients() {
    many_clients_each_get_their_own_replies(Pool::new().workers(2));
}

/// The first datagram's handler waits for `release`; every handled datagram
/// is counted.
struct Held {
    handled: Arc<AtomicUsize>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Service for Held {
    type Request = DatagramRequest;

    fn handle(&self, _: &mut DatagramRequest) -> io::Result<()> {
        if self.handled.fetch_add(1, Ordering::SeqCst) == 0 {
            let _ = self.release.lock().unwrap().recv_timeout(BOUND);
        }
        Ok(())
    }
}

/// After `shutdown()` has returned, a datagram that is waiting is not served,
/// even once the handler still running has returned.
fn nothing_is_served_after_shutdown<C: socketserver::Drives<socketserver::DatagramRequest>>(
    concurrency: C,
) {
    let handled = Arc::new(AtomicUsize::new(0));
    let (release, wait) = mpsc::channel();
    let held = Held {
        handled: Arc::clone(&handled),
        release: Mutex::new(wait),
    };
    let server = Server::<Udp, Threading, _>::builder(held)
        .concurrency(concurrency)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let client = client_for(running.addr());
    client.send(b"first").unwrap();
    wait_until("the first datagram is being handled", || {
        handled.load(Ordering::SeqCst) == 1
    });
    running.handle().shutdown();
    client.send(b"second").unwrap();
    release.send(()).unwrap();
    // Closing the server waits for the first handler, and so for whatever
    // its worker does after it.
    running.stop().unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[test]
fn threading_serves_nothing_after_shutdown() {
    nothing_is_served_after_shutdown(Threading::default());
}

#[test]
fn pool_serves_nothing_after_shutdown() {
    nothing_is_served_after_shutdown(Pool::new().workers(1));
}

/// Counts the datagrams handled, and the calls of `handle_timeout`.
#[derive(Default)]
struct Counts {
    handled: AtomicUsize,
    timeouts: AtomicUsize,
}

struct Counting(Arc<Counts>);

impl Service for Counting {
    type Request = DatagramRequest;

    fn handle(&self, req: &mut DatagramRequest) -> io::Result<()> {
        self.0.handled.fetch_add(1, Ordering::SeqCst);
        req.wfile().write_all(b"done")
    }

    fn handle_timeout(&self) {
        self.0.timeouts.fetch_add(1, Ordering::SeqCst);
    }
}

/// `handle_request` under `Threading`: each call serves one of the waiting
/// datagrams, and nothing else takes the others (if it did, a later call
/// would find none and time out).
#[test]
fn handle_request_leaves_the_other_datagrams_to_the_next_calls() {
    let counting = Arc::new(Counts::default());
    let mut server = Server::<Udp, Threading, _>::builder(Counting(Arc::clone(&counting)))
        .accept_timeout(Some(BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let client = client_for(*server.server_address());
    for _ in 0..3 {
        client.send(b"x").unwrap();
    }
    let mut reply = [0; 8];
    for call in 1..=3 {
        server.handle_request().unwrap();
        assert_eq!(client.recv(&mut reply).unwrap(), 4);
        assert_eq!(counting.timeouts.load(Ordering::SeqCst), 0, "call {call}");
    }
    drop(server);
    assert_eq!(counting.handled.load(Ordering::SeqCst), 3);
}

/// Short connections at once against `max_connections = 2`: never more
/// than two are served at a time, and every one is served.
fn the_limit_holds_under_short_connections<C: socketserver::Drives<socketserver::StreamRequest>>(
    concurrency: C,
) {
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (n, m) = (Arc::clone(&now), Arc::clone(&most));
    let counting = handler_fn(move |req: &mut StreamRequest| {
        let open = n.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(open, Ordering::SeqCst);
        let mut request = Vec::new();
        let result = req
            .rfile()
            .read_to_end(&mut request)
            .and_then(|_| req.wfile().write_all(&request));
        n.fetch_sub(1, Ordering::SeqCst);
        result
    });
    let server = Server::<socketserver::Tcp, Threading, _>::builder(counting)
        .concurrency(concurrency)
        .max_connections(Some(2))
        .poll_interval(Duration::from_millis(10))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    thread::scope(|s| {
        for client in 0..8 {
            s.spawn(move || {
                for n in 0..25 {
                    let mut stream = connect(addr);
                    let request = format!("{client}/{n}");
                    stream.write_all(request.as_bytes()).unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                    assert_eq!(read_to_end(&mut stream), request.as_bytes());
                }
            });
        }
    });
    running.stop().unwrap();
    assert!(most.load(Ordering::SeqCst) <= 2, "served at once: {most:?}");
}

#[test]
fn threading_holds_max_connections_under_short_connections() {
    the_limit_holds_under_short_connections(Threading::default());
}

#[test]
fn pool_holds_max_connections_under_short_connections() {
    the_limit_holds_under_short_connections(Pool::new().workers(4));
}
