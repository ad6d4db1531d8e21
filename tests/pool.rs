//! The `Pool` concurrency model: a fixed number of workers and a bounded
//! queue, back-pressure into the kernel's backlog when both are full, a pool
//! that panics do not shrink, and what closing does with queued requests.
//! Buffer-shaped handlers (`Conn`): many more connections than workers, each
//! holding a worker only for its turns, and handlers that block.
//!
//! Whether a connection was accepted is read from the server (its
//! `verify_request` count, `open_requests`), never guessed from a delay.

use socketserver::{
    Conn, Pool, PoolTcpServer, RequestError, Server, Service, StreamRequest, Tcp, TcpServer,
    handle, handler_fn, server,
};
use socketserver_tests::gate::{
    Counters, Gate, assert_not_started, expect_started, make_it_panic, release,
};
use socketserver_tests::{
    BOUND, capture_logs, connect, echo, logged, read_to_end, round_trip, serve, wait_until,
};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A pool of `workers` and `queue` around a gate, whose loop turns often, so
/// that the tests that wait for a turn do not wait long.
fn gate_pool(workers: usize, queue: usize) -> (PoolTcpServer<Gate>, Arc<Counters>) {
    let (gate, counters) = Gate::new();
    let server = PoolTcpServer::builder(gate)
        .workers(workers)
        .queue(queue)
        .poll_interval(Duration::from_millis(10))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    (server, counters)
}

#[test]
fn echoes_many_clients_at_once() {
    let server = PoolTcpServer::builder(echo())
        .workers(4)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let clients: Vec<_> = (0..32)
        .map(|i| {
            let addr = running.addr();
            thread::spawn(move || round_trip(addr, format!("client {i}").as_bytes()))
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        assert_eq!(client.join().unwrap(), format!("client {i}").as_bytes());
    }
    running.stop().unwrap();
}

#[server(transport = "tcp", concurrency = "pool", workers = 2, queue = 3)]
struct Upper;

impl Upper {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let (reader, mut writer) = req.split();
        for line in reader.lines() {
            writeln!(writer, "{}", line?.to_uppercase())?;
        }
        Ok(())
    }
}

#[test]
fn the_attribute_makes_a_pool_server() {
    let server: PoolTcpServer<Upper> = Upper.bind("127.0.0.1:0").unwrap();
    let running = serve(server);
    for _ in 0..8 {
        assert_eq!(
            round_trip(running.addr(), b"hello\npool\n"),
            b"HELLO\nPOOL\n"
        );
    }
    running.stop().unwrap();
}

#[test]
fn a_full_pool_leaves_connections_in_the_backlog_until_a_worker_is_free() {
    let (server, counters) = gate_pool(2, 1);
    let running = serve(server);
    let addr = running.addr();
    let mut first = connect(addr);
    expect_started(&mut first);
    let mut second = connect(addr);
    expect_started(&mut second);
    // Both workers are busy: the third waits in the queue, accepted.
    let third = connect(addr);
    wait_until("the third connection is accepted", || {
        counters.accepted() == 3
    });
    // Workers and queue are full: the fourth stays in the kernel's backlog,
    // however many turns the loop makes.
    let fourth = connect(addr);
    counters.full_turn();
    counters.full_turn();
    assert_eq!(counters.accepted(), 3, "accepted beyond workers + queue");
    assert_not_started(&third);
    assert_not_started(&fourth);
    assert_eq!(counters.started(), 2);

    // A worker is free: it takes the third, and the fourth is accepted into
    // the queue.
    release(first);
    let mut third = third;
    expect_started(&mut third);
    wait_until("the fourth connection is accepted", || {
        counters.accepted() == 4
    });
    assert_not_started(&fourth);
    release(second);
    let mut fourth = fourth;
    expect_started(&mut fourth);
    release(third);
    release(fourth);
    running.stop().unwrap();
    assert_eq!((counters.finished(), counters.errors()), (4, 0));
}

#[test]
fn handle_request_accepts_only_while_the_pool_has_room() {
    let (gate, counters) = Gate::new();
    let mut server = PoolTcpServer::builder(gate)
        .workers(2)
        .queue(1)
        .accept_timeout(Some(Duration::from_millis(20)))
        .poll_interval(Duration::from_millis(10))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = *server.server_address();
    // All four wait in the backlog before the server looks.
    let mut clients: Vec<_> = (0..4).map(|_| connect(addr)).collect();
    for accepted in 1..=3 {
        server.handle_request().unwrap();
        assert_eq!(counters.accepted(), accepted);
        assert_eq!(server.open_requests(), accepted);
    }
    expect_started(&mut clients[0]);
    expect_started(&mut clients[1]);
    assert_eq!(server.concurrency().threads(), 2);
    // Full: this one waits its `accept_timeout` and accepts nothing.
    server.handle_request().unwrap();
    assert_eq!(counters.timeouts(), 1);
    assert_eq!(counters.accepted(), 3);
    assert_eq!(server.open_requests(), 3);

    let mut clients = clients.into_iter();
    release(clients.next().unwrap());
    // The worker wakes the waiting loop once it is free; each call waits at
    // most its timeout, so poll with calls.
    wait_until("handle_request accepts the fourth", || {
        server.handle_request().unwrap();
        counters.accepted() == 4
    });
    assert_eq!(server.open_requests(), 3);
    let (second, mut third, mut fourth) = (
        clients.next().unwrap(),
        clients.next().unwrap(),
        clients.next().unwrap(),
    );
    expect_started(&mut third);
    release(second);
    expect_started(&mut fourth);
    release(third);
    release(fourth);
    drop(server);
    assert_eq!(counters.finished(), 4);
    // No pool thread outlives the server.
}

#[test]
fn a_worker_wakes_the_loop_when_the_pool_is_no_longer_full() {
    let (gate, counters) = Gate::new();
    // The loop never looks again on its own: only a wake-up lets it accept.
    let server = PoolTcpServer::builder(gate)
        .workers(1)
        .queue(1)
        .poll_interval(Duration::from_secs(3600))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    let mut first = connect(addr);
    expect_started(&mut first);
    let mut second = connect(addr);
    wait_until("the second is queued", || counters.accepted() == 2);
    let mut third = connect(addr);
    release(first);
    expect_started(&mut second);
    wait_until("the third is accepted", || counters.accepted() == 3);
    release(second);
    expect_started(&mut third);
    release(third);
    running.stop().unwrap();
}

#[test]
fn panics_in_handlers_do_not_shrink_the_pool() {
    let (server, counters) = gate_pool(2, 4);
    let running = serve(server);
    let addr = running.addr();
    for _ in 0..6 {
        make_it_panic(connect(addr));
    }
    wait_until("every panic is reported", || counters.errors() == 6);
    // Both workers are still there: two requests run at once.
    let mut first = connect(addr);
    let mut second = connect(addr);
    expect_started(&mut first);
    expect_started(&mut second);
    release(first);
    release(second);
    running.stop().unwrap();
    assert_eq!(counters.finished(), 2);
}

#[test]
fn closing_serves_the_queued_requests() {
    let (server, counters) = gate_pool(1, 2);
    let running = serve(server);
    let addr = running.addr();
    let mut running_one = connect(addr);
    expect_started(&mut running_one);
    let queued: Vec<_> = (0..2).map(|_| connect(addr)).collect();
    wait_until("both are queued", || counters.accepted() == 3);

    let handle = running.handle();
    let stopping = thread::spawn(move || running.stop());
    wait_until("the loop has stopped", || !handle.is_serving());
    // Closing waits for the queued requests too, and they are served.
    release(running_one);
    for mut client in queued {
        expect_started(&mut client);
        release(client);
    }
    stopping.join().unwrap().unwrap();
    assert_eq!(counters.finished(), 3);
}

#[test]
fn closing_shuts_down_the_queued_requests_after_the_shutdown_timeout() {
    capture_logs();
    let (gate, counters) = Gate::new();
    let server = PoolTcpServer::builder(gate)
        .workers(1)
        .queue(2)
        .shutdown_timeout(Duration::from_millis(50))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    let mut idle = connect(addr);
    expect_started(&mut idle);
    let mut queued: Vec<_> = (0..2).map(|_| connect(addr)).collect();
    wait_until("both are queued", || counters.accepted() == 3);
    // Would wait for ever for `idle` without the timeout.
    running.stop().unwrap();
    assert_eq!(read_to_end(&mut idle), b"");
    // Taken up by the worker after the timeout: shut down at once, before
    // their handler could send anything.
    for client in &mut queued {
        assert_eq!(read_to_end(client), b"");
    }
    assert!(!logged("still open").is_empty());
    assert_eq!(counters.accepted(), 3);
}

#[test]
fn invalid_sizes_are_refused_at_bind() {
    for pool in [Pool::new().workers(0), Pool::new().queue(0)] {
        let e = TcpServer::builder(echo())
            .concurrency(pool)
            .bind("127.0.0.1:0")
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    }
    let e = PoolTcpServer::builder(echo())
        .workers(0)
        .bind("127.0.0.1:0")
        .unwrap_err();
    assert!(e.to_string().contains("worker"), "{e}");
}

#[test]
fn the_workers_serve_every_request_and_stay_within_their_number() {
    let most = Arc::new(AtomicUsize::new(0));
    let now = Arc::new(AtomicUsize::new(0));
    let (seen, current) = (Arc::clone(&most), Arc::clone(&now));
    let server = PoolTcpServer::builder(handler_fn(move |req: &mut StreamRequest| {
        let running = current.fetch_add(1, Ordering::SeqCst) + 1;
        seen.fetch_max(running, Ordering::SeqCst);
        let result = req.wfile().write_all(b"done");
        current.fetch_sub(1, Ordering::SeqCst);
        result
    }))
    .workers(3)
    .queue(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let running = serve(server);
    let clients: Vec<_> = (0..24)
        .map(|_| {
            let addr = running.addr();
            thread::spawn(move || round_trip(addr, b""))
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), b"done");
    }
    running.stop().unwrap();
    let most = most.load(Ordering::SeqCst);
    assert!((1..=3).contains(&most), "{most} handlers ran at once");
}

/// Echoes whole lines; `wait` first waits for the test's word (the handler
/// blocks its worker, as a pool's handler may), `panic` panics.
struct Lines {
    release: Mutex<mpsc::Receiver<()>>,
    waiting: Mutex<mpsc::Sender<()>>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Service for Lines {
    type Request = Conn;

    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        let (input, output, _) = conn.parts();
        while let Some(line) = input.line(1024)? {
            match line {
                b"wait\n" => {
                    self.waiting.lock().unwrap().send(()).unwrap();
                    let _ = self.release.lock().unwrap().recv_timeout(BOUND);
                }
                b"panic\n" => panic!("asked to"),
                _ => {}
            }
            output.write_all(line)?;
        }
        Ok(())
    }

    fn handle_error(&self, _: &SocketAddr, error: &RequestError) {
        self.errors.lock().unwrap().push(error.to_string());
    }
}

/// A pool serving [`Lines`], and the test's ends of its channels.
struct LinesPool {
    running: socketserver_tests::Running,
    /// Releases a waiting handler.
    release: mpsc::Sender<()>,
    /// Hears that a handler waits.
    waits: mpsc::Receiver<()>,
    errors: Arc<Mutex<Vec<String>>>,
}

/// A pool of `workers` (and a queue of one) serving [`Lines`], closing
/// connections silent for `timeout`.
fn lines_pool(workers: usize, timeout: Option<Duration>) -> LinesPool {
    let (release, released) = mpsc::channel();
    let (waiting, waits) = mpsc::channel();
    let errors = Arc::default();
    let lines = Lines {
        release: Mutex::new(released),
        waiting: Mutex::new(waiting),
        errors: Arc::clone(&errors),
    };
    let server = Server::<Tcp, Pool, _>::builder(lines)
        .workers(workers)
        .queue(1)
        .timeout(timeout)
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    LinesPool {
        running: serve(server),
        release,
        waits,
        errors,
    }
}

fn line_round_trip(reader: &mut BufReader<TcpStream>, line: &str) {
    reader.get_mut().write_all(line.as_bytes()).unwrap();
    let mut reply = String::new();
    reader.read_line(&mut reply).unwrap();
    assert_eq!(reply, line);
}

/// Two workers and a queue of one hold 3 connections that keep their worker;
/// buffer-shaped connections hold one only for a turn, so 50 open at once
/// are all served, in any order.
#[test]
fn a_pool_serves_far_more_buffer_shaped_connections_than_it_has_workers() {
    let LinesPool {
        running, errors, ..
    } = lines_pool(2, None);
    let mut clients: Vec<BufReader<TcpStream>> = (0..50)
        .map(|_| BufReader::new(connect(running.addr())))
        .collect();
    for round in 0..5 {
        // Last connected first: none waits for the ones before it.
        for (k, client) in clients.iter_mut().enumerate().rev() {
            line_round_trip(client, &format!("round {round} client {k}\n"));
        }
    }
    drop(clients);
    running.stop().unwrap();
    assert!(
        errors.lock().unwrap().is_empty(),
        "{:?}",
        errors.lock().unwrap()
    );
}

/// A handler that blocks holds its worker, not the loop: the other worker
/// serves every other connection meanwhile, and the blocked one's reply
/// comes once it is released.
#[test]
fn a_blocked_handler_holds_one_worker_and_the_others_go_on() {
    let LinesPool {
        running,
        release,
        waits,
        ..
    } = lines_pool(2, None);
    let mut blocked = BufReader::new(connect(running.addr()));
    blocked.get_mut().write_all(b"wait\n").unwrap();
    waits.recv_timeout(BOUND).expect("the handler waits");
    let mut others: Vec<BufReader<TcpStream>> = (0..10)
        .map(|_| BufReader::new(connect(running.addr())))
        .collect();
    for (k, other) in others.iter_mut().enumerate() {
        line_round_trip(other, &format!("meanwhile {k}\n"));
    }
    release.send(()).unwrap();
    let mut reply = String::new();
    blocked.read_line(&mut reply).unwrap();
    assert_eq!(reply, "wait\n");
    line_round_trip(&mut blocked, "and on\n");
    drop(others);
    running.stop().unwrap();
}

/// A panic in a turn ends that connection only, and is reported.
#[test]
fn a_panicking_turn_in_a_pool_closes_only_its_connection() {
    let LinesPool {
        running, errors, ..
    } = lines_pool(1, None);
    let mut good = BufReader::new(connect(running.addr()));
    line_round_trip(&mut good, "before\n");
    let mut bad = connect(running.addr());
    bad.write_all(b"panic\n").unwrap();
    let mut rest = Vec::new();
    let _ = bad.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    line_round_trip(&mut good, "after\n");
    wait_until("the panic is reported", || {
        !errors.lock().unwrap().is_empty()
    });
    assert!(
        errors.lock().unwrap()[0].contains("asked to"),
        "{:?}",
        errors.lock().unwrap()
    );
    drop(good);
    running.stop().unwrap();
}

/// Closing a pool with idle buffer-shaped connections closes them at once
/// (their clients see the end) rather than waiting for them to leave.
#[test]
fn closing_a_pool_closes_its_idle_buffer_shaped_connections() {
    let LinesPool { running, .. } = lines_pool(2, None);
    let mut clients: Vec<BufReader<TcpStream>> = (0..5)
        .map(|_| BufReader::new(connect(running.addr())))
        .collect();
    for client in &mut clients {
        line_round_trip(client, "hello\n");
    }
    running.stop().unwrap();
    for client in &mut clients {
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{rest:?}");
    }
}

/// A service whose `setup` (if asked) or whose turn on `wait` blocks until
/// the test says, and which counts its `finish` calls.
struct Held {
    block_setup: bool,
    waiting: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
    finished: Arc<AtomicUsize>,
}

impl Held {
    fn hold(&self) {
        self.waiting.lock().unwrap().send(()).unwrap();
        let _ = self.release.lock().unwrap().recv_timeout(BOUND);
    }
}

impl Service for Held {
    type Request = Conn;

    fn setup(&self, conn: &mut Conn) -> io::Result<()> {
        if self.block_setup {
            self.hold();
        }
        conn.write(b"hello\n");
        Ok(())
    }

    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        let (input, output, _) = conn.parts();
        while let Some(line) = input.line(1024)? {
            if line == b"wait\n" {
                self.hold();
            }
            output.write_all(line)?;
        }
        Ok(())
    }

    fn finish(&self, _: &mut Conn) -> io::Result<()> {
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Closes a pool with no shutdown time while a `Held` connection's setup
/// (or turn) is running on a worker, and lets it go on only once the pool's
/// loop has ended (closing has gone on to shut connections down): the
/// connection is ended all the same, `finish` runs once, the client gets
/// everything written and then the end, and closing returns.
fn closing_while_held(block_setup: bool) {
    // One at a time: each waits for a log line the other would write too.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    capture_logs();
    let (waiting, waits) = mpsc::channel();
    let (release, released) = mpsc::channel();
    let finished = Arc::new(AtomicUsize::new(0));
    let held = Held {
        block_setup,
        waiting: Mutex::new(waiting),
        release: Mutex::new(released),
        finished: Arc::clone(&finished),
    };
    let server = Server::<Tcp, Pool, _>::builder(held)
        .workers(2)
        .shutdown_timeout(Duration::ZERO)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut client = BufReader::new(connect(running.addr()));
    let mut expected = "hello\n".to_owned();
    if !block_setup {
        let mut hello = String::new();
        client.read_line(&mut hello).unwrap();
        assert_eq!(hello, "hello\n");
        client.get_mut().write_all(b"wait\n").unwrap();
        expected = "wait\n".to_owned();
    }
    waits
        .recv_timeout(BOUND)
        .expect("the setup or the turn waits");
    let before = logged("connection(s) still open 0ns").len();
    let (stopped, stop) = mpsc::channel();
    thread::spawn(move || stopped.send(running.stop()));
    // Only a pool with zero shutdown time logs this, once its loop has ended.
    wait_until("closing shuts connections down", || {
        logged("connection(s) still open 0ns").len() > before
    });
    release.send(()).unwrap();
    stop.recv_timeout(BOUND)
        .expect("closing returns")
        .expect("serve_forever failed");
    let mut rest = String::new();
    client.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, expected);
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[test]
fn a_turn_that_outlasts_the_shutdown_time_is_ended_when_it_returns() {
    closing_while_held(false);
}

#[test]
fn a_setup_that_outlasts_the_shutdown_time_is_ended_when_it_returns() {
    closing_while_held(true);
}

/// `wait` blocks the turn until the test says; `flood` broadcasts 5 MiB, in
/// 64 KiB pieces, to every other connection.
struct Flood {
    waiting: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Service for Flood {
    type Request = Conn;

    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        while let Some(line) = conn.input().line(1024)? {
            match line {
                b"wait\n" => {
                    self.waiting.lock().unwrap().send(()).unwrap();
                    let _ = self.release.lock().unwrap().recv_timeout(BOUND);
                    conn.write(b"waited\n");
                }
                b"flood\n" => {
                    let piece = vec![b'x'; 64 * 1024];
                    for _ in 0..80 {
                        conn.broadcast(&piece);
                    }
                    conn.write(b"flooded\n");
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn handle_error(&self, _: &SocketAddr, error: &RequestError) {
        self.errors.lock().unwrap().push(error.to_string());
    }
}

/// What other connections send to one whose turn is running is kept for it
/// up to the same limit as for any other connection: past it, the
/// connection is closed when its turn is over, and the error is reported.
#[test]
fn sends_to_a_connection_whose_turn_is_long_are_bounded() {
    let (waiting, waits) = mpsc::channel();
    let (release, released) = mpsc::channel();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let flood = Flood {
        waiting: Mutex::new(waiting),
        release: Mutex::new(released),
        errors: Arc::clone(&errors),
    };
    let server = Server::<Tcp, Pool, _>::builder(flood)
        .workers(2)
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut slow = BufReader::new(connect(running.addr()));
    slow.get_mut().write_all(b"wait\n").unwrap();
    waits.recv_timeout(BOUND).expect("the turn waits");
    let mut flooder = BufReader::new(connect(running.addr()));
    flooder.get_mut().write_all(b"flood\n").unwrap();
    let mut reply = String::new();
    flooder.read_line(&mut reply).unwrap();
    assert_eq!(reply, "flooded\n");
    release.send(()).unwrap();
    // Its own reply, then the end: none of the 5 MiB.
    let mut rest = String::new();
    slow.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "waited\n");
    wait_until("the closing is reported", || {
        !errors.lock().unwrap().is_empty()
    });
    let errors = errors.lock().unwrap().clone();
    assert!(errors[0].contains("does not keep up"), "{errors:?}");
    drop(flooder);
    running.stop().unwrap();
}

/// A buffer-shaped connection whose client stays silent is closed at the
/// server's `timeout` by the pool's loop, and reported, as under `Event`.
#[test]
fn a_silent_buffer_shaped_connection_is_closed_at_the_timeout() {
    let LinesPool {
        running, errors, ..
    } = lines_pool(1, Some(Duration::from_millis(200)));
    let mut silent = connect(running.addr());
    let mut rest = Vec::new();
    match silent.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "{rest:?}"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
    wait_until("the timeout is reported", || {
        !errors.lock().unwrap().is_empty()
    });
    let errors = errors.lock().unwrap().clone();
    assert!(errors[0].contains("no input"), "{errors:?}");
    running.stop().unwrap();
}
