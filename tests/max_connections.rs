//! `max_connections`: at the limit the server stops accepting, further
//! connections wait in the kernel's backlog (none refused), and one is
//! accepted as soon as an open one ends; the same under `Threading` and
//! `Pool`, through `serve_forever` and `handle_request`.

use socketserver::{
    Builder, Pool, PoolTcpServer, Server, StreamRequest, Tcp, ThreadingTcpServer, handle, server,
};
use socketserver_tests::gate::{Counters, Gate, assert_not_started, expect_started, release};
use socketserver_tests::{BOUND, connect, echo, serve, wait_until};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

/// `builder` around a gate, at most `limit` connections, a loop that turns
/// often.
fn limited<C: socketserver::Drives<socketserver::StreamRequest>>(
    builder: impl FnOnce(Gate) -> Builder<Tcp, C, Gate>,
    limit: usize,
) -> (Server<Tcp, C, Gate>, Arc<Counters>) {
    let (gate, counters) = Gate::new();
    let server = builder(gate)
        .max_connections(Some(limit))
        .poll_interval(Duration::from_millis(10))
        .accept_timeout(Some(Duration::from_millis(20)))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    (server, counters)
}

/// The scenario every model must pass under `serve_forever`.
fn beyond_the_limit_connections_wait_until_one_ends<
    C: socketserver::Drives<socketserver::StreamRequest>,
>(
    server: Server<Tcp, C, Gate>,
    counters: &Counters,
    limit: usize,
) {
    let running = serve(server);
    let addr = running.addr();
    let mut open: Vec<_> = (0..limit)
        .map(|_| {
            let mut client = connect(addr);
            expect_started(&mut client);
            client
        })
        .collect();
    let waiting = connect(addr);
    let also_waiting = connect(addr);
    counters.full_turn();
    counters.full_turn();
    assert_eq!(counters.accepted(), limit, "accepted beyond the limit");
    assert_not_started(&waiting);

    // One ends: exactly one more is accepted, and served.
    release(open.remove(0));
    let mut waiting = waiting;
    expect_started(&mut waiting);
    counters.full_turn();
    assert_eq!(counters.accepted(), limit + 1);
    assert_not_started(&also_waiting);

    release(waiting);
    let mut also_waiting = also_waiting;
    expect_started(&mut also_waiting);
    release(also_waiting);
    for client in open {
        release(client);
    }
    running.stop().unwrap();
    assert_eq!(counters.finished(), limit + 2);
    assert_eq!(counters.errors(), 0);
}

#[test]
fn threading_holds_the_limit() {
    let (server, counters) = limited(ThreadingTcpServer::builder, 3);
    beyond_the_limit_connections_wait_until_one_ends(server, &counters, 3);
}

#[test]
fn pool_holds_the_limit_below_its_own_bound() {
    // The pool alone would take 4 + 4.
    let (server, counters) = limited(|gate| PoolTcpServer::builder(gate).workers(4).queue(4), 2);
    beyond_the_limit_connections_wait_until_one_ends(server, &counters, 2);
}

#[test]
fn pool_holds_the_limit_with_requests_in_its_queue() {
    // Two run, one waits in the pool's queue: three count against the limit
    // of three, the pool's own bound (2 + 4) is not reached.
    let (server, counters) = limited(|gate| PoolTcpServer::builder(gate).workers(2).queue(4), 3);
    let running = serve(server);
    let addr = running.addr();
    let mut first = connect(addr);
    expect_started(&mut first);
    let mut second = connect(addr);
    expect_started(&mut second);
    let queued = connect(addr);
    wait_until("the third is accepted", || counters.accepted() == 3);
    let beyond = connect(addr);
    counters.full_turn();
    counters.full_turn();
    assert_eq!(counters.accepted(), 3, "accepted beyond the limit");
    release(first);
    let (mut queued, mut beyond) = (queued, beyond);
    expect_started(&mut queued);
    release(second);
    expect_started(&mut beyond);
    release(queued);
    release(beyond);
    running.stop().unwrap();
    assert_eq!(counters.finished(), 4);
}

#[test]
fn the_loop_wakes_when_a_connection_ends_at_the_limit() {
    let (gate, counters) = Gate::new();
    // The loop never looks again on its own: only a wake-up lets it accept.
    let server = ThreadingTcpServer::builder(gate)
        .max_connections(Some(1))
        .poll_interval(Duration::from_secs(3600))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    let mut first = connect(addr);
    expect_started(&mut first);
    let mut second = connect(addr);
    release(first);
    expect_started(&mut second);
    release(second);
    running.stop().unwrap();
    assert_eq!(counters.accepted(), 2);
}

#[test]
fn handle_request_waits_at_the_limit() {
    let (mut server, counters) = limited(ThreadingTcpServer::builder, 2);
    let addr = *server.server_address();
    let mut clients: Vec<_> = (0..3).map(|_| connect(addr)).collect();
    server.handle_request().unwrap();
    server.handle_request().unwrap();
    assert_eq!(server.open_requests(), 2);
    // At the limit: waits its `accept_timeout`, and accepts nothing.
    server.handle_request().unwrap();
    assert_eq!(counters.timeouts(), 1);
    assert_eq!(counters.accepted(), 2);
    assert_eq!(server.open_requests(), 2);
    assert_not_started(&clients[2]);

    expect_started(&mut clients[0]);
    expect_started(&mut clients[1]);
    let mut clients = clients.into_iter();
    release(clients.next().unwrap());
    wait_until("handle_request accepts the third", || {
        server.handle_request().unwrap();
        counters.accepted() == 3
    });
    assert_eq!(server.open_requests(), 2);
    let (second, mut third) = (clients.next().unwrap(), clients.next().unwrap());
    expect_started(&mut third);
    release(second);
    release(third);
    drop(server);
    assert_eq!(counters.finished(), 3);
}

#[test]
fn zero_is_refused_at_bind() {
    let e = ThreadingTcpServer::builder(echo())
        .max_connections(Some(0))
        .bind("127.0.0.1:0")
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    let e = ThreadingTcpServer::builder(echo())
        .concurrency(Pool::new())
        .max_connections(Some(0))
        .bind("127.0.0.1:0")
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
}

#[server(concurrency = "pool", workers = 2, queue = 2, max_connections = 1)]
struct Limited;

impl Limited {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        req.wfile().write_all(b"hello")
    }
}

#[test]
fn the_attribute_sets_the_limit() {
    let settings = format!("{:?}", Limited.builder());
    assert!(settings.contains("max_connections: Some(1)"), "{settings}");
    assert!(settings.contains("workers: 2, queue: 2"), "{settings}");
    let running = serve(Limited.bind("127.0.0.1:0").unwrap());
    for _ in 0..3 {
        assert_eq!(
            socketserver_tests::round_trip(running.addr(), b""),
            b"hello"
        );
    }
    running.stop().unwrap();
}
