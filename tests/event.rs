//! The `Event` concurrency model: event loops on a few worker threads serving
//! buffer-shaped handlers (`Conn`) by readiness. Thousands of connections at
//! once, each getting exactly its own bytes; back-pressure against a client
//! that never reads; sends from one connection to another and to all; the
//! end of input with a last reply; the idle timeout; a closing server that
//! still sends what is queued; a panicking handler that ends only its
//! connection; `max_connections`; datagrams served on the workers; busy
//! polling.

use socketserver::{
    Conn, ConnId, DatagramRequest, Event, RequestError, Server, Service, Tcp, Udp, handler_fn,
};
use socketserver_tests::{BOUND, connect, line_lengths, read_to_end, serve, wait_until};
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

/// Connection state that counts the connections open with it at once, in
/// the counters of slot `N` (one slot per test, as tests run concurrently):
/// made when the server opens the connection, dropped when it closes it.
struct Tracked<const N: usize>;

static OPEN: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
static MOST: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

impl<const N: usize> Default for Tracked<N> {
    fn default() -> Self {
        let now = OPEN[N].fetch_add(1, Ordering::SeqCst) + 1;
        MOST[N].fetch_max(now, Ordering::SeqCst);
        Tracked
    }
}

impl<const N: usize> Drop for Tracked<N> {
    fn drop(&mut self) {
        OPEN[N].fetch_sub(1, Ordering::SeqCst);
    }
}

fn open_now(slot: usize) -> usize {
    OPEN[slot].load(Ordering::SeqCst)
}

/// Echoes every byte it is given.
fn echo_all<St: socketserver::ConnState>(conn: &mut Conn<St>) -> io::Result<()> {
    let (input, output, _) = conn.parts();
    output.write_all(input.bytes())?;
    let n = input.bytes().len();
    input.consume(n);
    Ok(())
}

/// An event server of two workers on loopback, every wait bounded.
fn event_server<S: Service>(service: S) -> socketserver::Builder<Tcp, Event, S>
where
    Tcp: socketserver::Yields<S::Request>,
{
    Server::<Tcp, Event, S>::builder(service)
        .workers(2)
        .shutdown_timeout(BOUND)
}

/// Waits for the server to close `stream` without sending anything more: an
/// end of input, or a reset.
fn assert_closed_by_the_server(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "{rest:?}"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
}

fn lines_of(stream: &TcpStream) -> BufReader<TcpStream> {
    BufReader::new(stream.try_clone().unwrap())
}

fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a line from the server");
    line
}

/// The byte at `offset` of the stream a test sends: a period that no power of
/// two divides, so that a chunk lost, doubled or moved shows.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8
}

/// A client whose own socket buffers are small (set before it connects, so
/// the kernel does not grow them), so that what the kernel holds between the
/// two ends is mostly the server's side.
fn small_buffered_client(addr: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.set_send_buffer_size(64 * 1024).unwrap();
    socket.connect_timeout(&addr.into(), BOUND).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.set_write_timeout(Some(BOUND)).unwrap();
    stream
}

/// Raises this process's soft limit of open files to its hard limit; returns
/// the limit now in force.
#[allow(unsafe_code)]
fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the call to fill.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0, "getrlimit: {}", io::Error::last_os_error());
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid `rlimit`, only read by the call.
        let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
        assert_eq!(set, 0, "setrlimit: {}", io::Error::last_os_error());
        limit = raised;
    }
    #[allow(clippy::useless_conversion)] // `rlim_t` is not `u64` everywhere.
    u64::from(limit.rlim_cur)
}

const MANY: usize = 5_000;
/// Both ends of every connection, in this process, and some to spare.
const FILES_FOR_MANY: u64 = 2 * MANY as u64 + 500;

#[test]
fn five_thousand_concurrent_connections_each_get_exactly_their_own_bytes() {
    let limit = raise_open_files_limit();
    if limit < FILES_FOR_MANY {
        println!(
            "skipped: the hard limit of open files is {limit}, under the {FILES_FOR_MANY} \
             this test needs"
        );
        return;
    }
    const SLOT: usize = 0;
    let server = event_server(handler_fn(echo_all::<Tracked<SLOT>>))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    const CLIENT_THREADS: usize = 4;
    // Every client connects, then all wait until the server has every
    // connection open at once, then each sends its own bytes and reads them
    // back.
    let connected = Arc::new(Barrier::new(CLIENT_THREADS + 1));
    let go = Arc::new(Barrier::new(CLIENT_THREADS + 1));
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|t| {
            let (connected, go) = (Arc::clone(&connected), Arc::clone(&go));
            thread::spawn(move || {
                let mine: Vec<usize> = (t..MANY).step_by(CLIENT_THREADS).collect();
                let mut streams: Vec<TcpStream> = mine.iter().map(|_| connect(addr)).collect();
                connected.wait();
                go.wait();
                let message = |i: usize| format!("connection {i} says {}\n", "x".repeat(i % 97));
                for (stream, &i) in streams.iter_mut().zip(&mine) {
                    stream.write_all(message(i).as_bytes()).unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                }
                let mut wrong = Vec::new();
                for (stream, &i) in streams.iter_mut().zip(&mine) {
                    let got = read_to_end(stream);
                    if got != message(i).as_bytes() {
                        wrong.push((i, String::from_utf8_lossy(&got).into_owned()));
                    }
                }
                (mine.len(), wrong)
            })
        })
        .collect();
    connected.wait();
    wait_until("the server has every connection open at once", || {
        open_now(SLOT) == MANY
    });
    go.wait();
    let mut served = 0;
    for client in clients {
        let (count, wrong) = client.join().expect("a client thread panicked");
        assert!(
            wrong.is_empty(),
            "{} connection(s) got other bytes than their own, e.g. {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(3)]
        );
        served += count;
    }
    assert_eq!(served, MANY);
    assert_eq!(MOST[SLOT].load(Ordering::SeqCst), MANY);
    // Every connection ended: none is left open on the server.
    wait_until("the server has closed every connection", || {
        open_now(SLOT) == 0
    });
    running.stop().unwrap();
}

#[test]
fn a_client_that_never_reads_is_stopped_by_back_pressure_and_loses_nothing() {
    const TOTAL: usize = 64 << 20;
    let server = event_server(handler_fn(echo_all::<()>))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut client = small_buffered_client(running.addr());
    // Writes until one makes no progress for a while: the server stopped
    // reading. (A write that times out only because the machine is slow
    // leaves less sent, which the rest of the test checks all the same.)
    client
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let chunk: Vec<u8> = (0..64 * 1024 + 251).map(pattern).collect();
    let mut sent = 0;
    while sent < TOTAL {
        let from = sent % 251;
        let len = (64 * 1024).min(TOTAL - sent);
        match client.write(&chunk[from..from + len]) {
            Ok(0) => panic!("the connection took no more bytes after {sent}"),
            Ok(n) => sent += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) => panic!("write failed after {sent} bytes: {e}"),
        }
    }
    // The server's queue stops at 256 KiB (and one read of 64 KiB more);
    // the rest is the kernel's buffers: the client's, made small, and the
    // server's, which loopback's auto-tuning grows to a few MiB each way.
    const AT_MOST: usize = 16 << 20;
    assert!(
        sent < TOTAL,
        "the client sent all of its {TOTAL} bytes without reading one: the server never \
         stopped reading"
    );
    assert!(
        sent < AT_MOST,
        "the client sent {sent} bytes without reading one before it was blocked; \
         expected under {AT_MOST}"
    );
    // Everything comes back, in order, and then nothing more.
    client.set_write_timeout(Some(BOUND)).unwrap();
    let mut got = 0;
    let mut buf = vec![0; 64 * 1024];
    while got < sent {
        let n = client.read(&mut buf).expect("the echo of what was sent");
        assert!(n > 0, "the connection ended after {got} of {sent} bytes");
        for (k, &byte) in buf[..n].iter().enumerate() {
            assert_eq!(byte, pattern(got + k), "byte {} of the echo", got + k);
        }
        got += n;
    }
    assert_eq!(got, sent, "more came back than was sent");
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"", "the end after the echo");
    println!("blocked after {sent} bytes sent without reading");
}

/// A chat: greets each connection with its id; `to <id> <text>` sends the
/// text to that connection, `all <text>` to every other one; `bye` at the
/// client's end of input.
#[derive(Default)]
struct Chat {
    /// Each connection's id as it was told, to find it by.
    ids: Mutex<HashMap<String, ConnId>>,
}

impl Service for Chat {
    type Request = Conn;

    fn setup(&self, conn: &mut Conn) -> io::Result<()> {
        let id = conn.id();
        self.ids.lock().unwrap().insert(id.to_string(), id);
        writeln!(conn.output(), "id {id}")
    }

    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        while let Some(line) = conn.input().line(1024)? {
            let line = String::from_utf8_lossy(line).trim_end().to_owned();
            let reply = if let Some(rest) = line.strip_prefix("to ") {
                let (to, text) = rest.split_once(' ').unwrap_or((rest, ""));
                let to = self.ids.lock().unwrap().get(to).copied();
                match to {
                    None => "error unknown id".to_owned(),
                    Some(to) => match conn.send_to(to, format!("{text}\n").as_bytes()) {
                        Ok(()) => "ok".to_owned(),
                        Err(e) => format!("error {:?}", e.kind()),
                    },
                }
            } else if let Some(text) = line.strip_prefix("all ") {
                let n = conn.broadcast(format!("{text}\n").as_bytes());
                format!("sent to {n}")
            } else {
                format!("error unknown command {line:?}")
            };
            writeln!(conn.output(), "{reply}")?;
        }
        if conn.input().is_ended() {
            conn.write(b"bye\n");
        }
        Ok(())
    }
}

#[test]
fn connections_send_to_each_other_and_broadcast_to_all_but_the_sender() {
    let running = serve(event_server(Chat::default()).bind("127.0.0.1:0").unwrap());
    sends_by_id_and_broadcast(&running);
}

/// The same handler, on a thread per connection: a send is written by the
/// sender's thread.
#[test]
fn the_same_chat_handler_sends_and_broadcasts_under_threading() {
    sends_by_id_and_broadcast(&serve_chat(socketserver::Threading::default()));
}

/// The same handler in a pool: the connections wait for input on the pool's
/// loop and their turns run on its two workers.
#[test]
fn the_same_chat_handler_sends_and_broadcasts_in_a_pool() {
    sends_by_id_and_broadcast(&serve_chat(socketserver::Pool::new().workers(2)));
}

/// [`Chat`] served by `model`, every wait bounded.
fn serve_chat<C>(model: C) -> socketserver_tests::Running
where
    C: socketserver::Concurrency + socketserver::Drives<<Chat as Service>::Request>,
{
    let server = Server::<Tcp, socketserver::Threading, _>::builder(Chat::default())
        .concurrency(model)
        .shutdown_timeout(BOUND)
        .timeout(Some(BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    serve(server)
}

fn sends_by_id_and_broadcast(running: &socketserver_tests::Running) {
    let mut streams: Vec<TcpStream> = (0..3).map(|_| connect(running.addr())).collect();
    let mut readers: Vec<_> = streams.iter().map(lines_of).collect();
    let ids: Vec<String> = readers
        .iter_mut()
        .map(|reader| {
            let greeting = read_line(reader);
            greeting
                .strip_prefix("id ")
                .unwrap_or_else(|| panic!("a greeting with the id, not {greeting:?}"))
                .trim_end()
                .to_owned()
        })
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );

    // Each sends to the next; the recipient gets exactly that.
    for from in 0..3 {
        let to = (from + 1) % 3;
        writeln!(streams[from], "to {} hello {to} from {from}", ids[to]).unwrap();
        assert_eq!(read_line(&mut readers[from]), "ok\n");
        assert_eq!(
            read_line(&mut readers[to]),
            format!("hello {to} from {from}\n")
        );
    }

    // A broadcast reaches the two others.
    writeln!(streams[0], "all news from 0").unwrap();
    assert_eq!(read_line(&mut readers[0]), "sent to 2\n");
    assert_eq!(read_line(&mut readers[1]), "news from 0\n");
    assert_eq!(read_line(&mut readers[2]), "news from 0\n");

    // Connection 2 ends; a send to it then fails with NotFound. Its client
    // sees the end a moment before the server forgets its id: asked again
    // until it is forgotten.
    streams[2].shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    readers[2].read_to_end(&mut rest).unwrap();
    assert_eq!(String::from_utf8_lossy(&rest), "bye\n");
    wait_until("a send to the closed connection fails", || {
        writeln!(streams[0], "to {} too late", ids[2]).unwrap();
        match read_line(&mut readers[0]).as_str() {
            // Until the server has closed it: queued to it (event, pool), or
            // written to its socket, which its client shut down (threading).
            "ok\n" | "error BrokenPipe\n" | "error ConnectionReset\n" => false,
            reply => {
                assert_eq!(reply, "error NotFound\n");
                true
            }
        }
    });

    // Nothing else came to the others: not their own broadcast, no stray
    // copy; only the last reply.
    for i in 0..2 {
        streams[i].shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        readers[i].read_to_end(&mut rest).unwrap();
        assert_eq!(String::from_utf8_lossy(&rest), "bye\n", "connection {i}");
    }
}

#[test]
fn the_handler_sees_the_end_of_input_and_its_last_reply_arrives_before_the_end() {
    // Each line acknowledged with its number; at the end, the total.
    let counter = handler_fn(|conn: &mut Conn<usize>| {
        let (input, output, lines) = conn.parts();
        while let Some(line) = input.line(1024)? {
            *lines += 1;
            write!(output, "{lines}: {}", String::from_utf8_lossy(line))?;
        }
        if input.is_ended() {
            writeln!(output, "total {lines}")?;
        }
        Ok(())
    });
    let running = serve(event_server(counter).bind("127.0.0.1:0").unwrap());
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    client.write_all(b"one\ntwo\n").unwrap();
    assert_eq!(read_line(&mut replies), "1: one\n");
    assert_eq!(read_line(&mut replies), "2: two\n");
    client.write_all(b"three\n").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut rest = String::new();
    replies.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "3: three\ntotal 3\n");
}

/// What `handle_error` was told of one error.
#[derive(Debug)]
struct Reported {
    panic: bool,
    kind: Option<io::ErrorKind>,
    text: String,
}

/// A service around `handle` that keeps what `handle_error` is told.
struct Recording<F> {
    handle: F,
    errors: Arc<Mutex<Vec<Reported>>>,
}

impl<F> Recording<F> {
    fn new(handle: F) -> Recording<F> {
        Recording {
            handle,
            errors: Arc::default(),
        }
    }
}

impl<F: Fn(&mut Conn) -> io::Result<()> + Send + Sync + 'static> Service for Recording<F> {
    type Request = Conn;

    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        (self.handle)(conn)
    }

    fn handle_error(&self, _: &SocketAddr, error: &RequestError) {
        self.errors.lock().unwrap().push(Reported {
            panic: error.is_panic(),
            kind: error.io_error().map(io::Error::kind),
            text: error.to_string(),
        });
    }
}

#[test]
fn a_silent_client_is_closed_at_the_timeout_and_reported_as_timed_out() {
    let service = Recording::new(echo_all::<()>);
    let errors = Arc::clone(&service.errors);
    let server = event_server(service)
        .timeout(Some(Duration::from_millis(200)))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut silent = connect(running.addr());
    // Closed by the server, long before BOUND.
    assert_closed_by_the_server(&mut silent);
    wait_until("the timeout is reported", || {
        !errors.lock().unwrap().is_empty()
    });
    running.stop().unwrap();
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, Some(io::ErrorKind::TimedOut), "{errors:?}");
}

/// Busy polling changes when a worker sleeps, not what it does: replies,
/// the idle timeout and the stop are as without it.
#[test]
fn a_busy_polling_server_serves_times_out_and_stops_as_any_other() {
    let service = Recording::new(echo_all::<()>);
    let errors = Arc::clone(&service.errors);
    let server = event_server(service)
        .busy_poll(Duration::from_micros(200))
        // Far longer than a round of the round trips below takes.
        .timeout(Some(Duration::from_secs(1)))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut silent = connect(running.addr());
    let mut clients: Vec<TcpStream> = (0..20).map(|_| connect(running.addr())).collect();
    for round in 0..50u8 {
        for (k, client) in clients.iter_mut().enumerate() {
            let message = [round, k as u8, b'\n'];
            client.write_all(&message).unwrap();
            let mut reply = [0; 3];
            client.read_exact(&mut reply).unwrap();
            assert_eq!(reply, message);
        }
    }
    // The busy clients' last input was a moment ago; the silent one's, never.
    assert_closed_by_the_server(&mut silent);
    wait_until("the timeout is reported", || {
        !errors.lock().unwrap().is_empty()
    });
    running.stop().unwrap();
    for client in &mut clients {
        // Each closed by the timeout or the stop: nothing more comes.
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{rest:?}");
    }
    let errors = errors.lock().unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e.kind == Some(io::ErrorKind::TimedOut)),
        "{errors:?}"
    );
}

#[test]
fn a_closing_server_still_sends_all_the_output_queued_for_a_client_that_reads_late() {
    const BIG: usize = 8 << 20;
    let big = handler_fn(|conn: &mut Conn| {
        let (input, output, _) = conn.parts();
        while let Some(line) = input.line(64)? {
            if line == b"big\n" {
                output.write_all(b"begin\n")?;
                output.write_all(&(0..BIG).map(pattern).collect::<Vec<u8>>())?;
                output.write_all(b"end\n")?;
            }
        }
        Ok(())
    });
    let running = serve(event_server(big).bind("127.0.0.1:0").unwrap());
    // Its receive buffer small: most of the 8 MiB waits in the server.
    let mut client = small_buffered_client(running.addr());
    client.write_all(b"big\n").unwrap();
    // The first bytes have come: the handler has queued all of it.
    let mut begin = [0; 6];
    client.read_exact(&mut begin).unwrap();
    assert_eq!(&begin, b"begin\n");
    // The server closes while the client has barely read; it reads on.
    let stopper = thread::spawn(move || running.stop());
    let rest = read_to_end(&mut client);
    assert_eq!(rest.len(), BIG + 4, "all of the output, then the end");
    assert!(
        rest[..BIG]
            .iter()
            .enumerate()
            .all(|(k, &b)| b == pattern(k)),
        "the output came back altered"
    );
    assert_eq!(&rest[BIG..], b"end\n");
    stopper
        .join()
        .expect("the stopping thread panicked")
        .expect("serve_forever failed");
}

#[test]
fn a_panicking_handler_closes_only_its_own_connection() {
    let service = Recording::new(|conn: &mut Conn| {
        let (input, output, _) = conn.parts();
        while let Some(line) = input.line(1024)? {
            assert!(line != b"boom\n", "boom, as asked");
            output.write_all(line)?;
        }
        Ok(())
    });
    let errors = Arc::clone(&service.errors);
    let running = serve(event_server(service).bind("127.0.0.1:0").unwrap());
    let mut calm = connect(running.addr());
    let mut calm_replies = lines_of(&calm);
    let mut doomed = connect(running.addr());
    let mut doomed_replies = lines_of(&doomed);
    calm.write_all(b"before\n").unwrap();
    assert_eq!(read_line(&mut calm_replies), "before\n");
    doomed.write_all(b"fine\n").unwrap();
    assert_eq!(read_line(&mut doomed_replies), "fine\n");

    doomed.write_all(b"boom\n").unwrap();
    let mut end = String::new();
    match doomed_replies.read_line(&mut end) {
        Ok(_) => assert_eq!(end, "", "the connection ends after the panic"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
    // The other connection, open all along, is still served.
    calm.write_all(b"after\n").unwrap();
    assert_eq!(read_line(&mut calm_replies), "after\n");
    // And so is a new one.
    let mut next = connect(running.addr());
    next.write_all(b"new\n").unwrap();
    next.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut next), b"new\n");
    calm.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut calm), b"");
    running.stop().unwrap();
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "one error, the panic: {errors:?}");
    assert!(
        errors[0].panic && errors[0].text.contains("boom, as asked"),
        "{errors:?}"
    );
}

#[test]
fn at_max_connections_the_next_one_is_served_only_once_one_closes() {
    const SLOT: usize = 1;
    let server = event_server(handler_fn(echo_all::<Tracked<SLOT>>))
        .max_connections(Some(2))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    let round_trip = |stream: &mut TcpStream, text: &[u8]| {
        stream.write_all(text).unwrap();
        let mut reply = vec![0; text.len()];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(reply, text);
    };
    let mut first = connect(addr);
    round_trip(&mut first, b"one\n");
    let mut second = connect(addr);
    round_trip(&mut second, b"two\n");
    // Connected (the kernel's backlog accepts it) but not served.
    let mut third = connect(addr);
    third.write_all(b"three\n").unwrap();
    // The server is alive and serving the two meanwhile.
    round_trip(&mut first, b"one again\n");
    round_trip(&mut second, b"two again\n");
    third.set_nonblocking(true).unwrap();
    let mut peek = [0; 16];
    match third.peek(&mut peek) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("the third connection was served at the limit: {other:?}"),
    }
    third.set_nonblocking(false).unwrap();
    // The first closes: the third is served.
    first.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut first), b"");
    drop(first);
    let mut reply = [0; 6];
    third.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"three\n");
    round_trip(&mut second, b"two still\n");
    drop((second, third));
    wait_until("every connection closed", || open_now(SLOT) == 0);
    assert_eq!(
        MOST[SLOT].load(Ordering::SeqCst),
        2,
        "connections open at once"
    );
    running.stop().unwrap();
}

#[test]
fn udp_datagrams_are_served_on_the_event_loops_each_client_getting_its_own_replies() {
    let reply = handler_fn(|req: &mut DatagramRequest| {
        let reply = [b"re: ", req.packet()].concat();
        req.wfile().write_all(&reply)
    });
    let server = Server::<Udp, Event, _>::builder(reply)
        .workers(2)
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    let clients: Vec<_> = (0..8)
        .map(|c| {
            thread::spawn(move || {
                let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
                socket.set_read_timeout(Some(BOUND)).unwrap();
                socket.connect(addr).unwrap();
                let mut buf = [0; 256];
                // One at a time: on loopback nothing is dropped while the
                // server's receive buffer holds at most a datagram a client.
                for i in 0..100 {
                    let message = format!("client {c} datagram {i}");
                    socket.send(message.as_bytes()).unwrap();
                    let n = socket.recv(&mut buf).expect("a reply datagram");
                    assert_eq!(String::from_utf8_lossy(&buf[..n]), format!("re: {message}"));
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }
    running.stop().unwrap();
}

#[test]
fn a_partial_line_after_a_whole_one_waits_in_the_connection_for_its_rest() {
    let running = serve(
        event_server(handler_fn(line_lengths))
            .bind("127.0.0.1:0")
            .unwrap(),
    );
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    // Each piece is read on its own (the client waits for its answer): the
    // connection holds `d` in a buffer of its own after consuming `abc\n`,
    // and the next read lands behind it.
    client.write_all(b"ab").unwrap();
    assert_eq!(read_line(&mut replies), "holding 2\n");
    client.write_all(b"c\nd").unwrap();
    assert_eq!(read_line(&mut replies), "line of 4\n");
    // Called again at once on what it left.
    assert_eq!(read_line(&mut replies), "holding 1\n");
    client.write_all(b"e").unwrap();
    assert_eq!(read_line(&mut replies), "holding 2\n");
    client.write_all(b"\nfg\n").unwrap();
    assert_eq!(read_line(&mut replies), "line of 3\n");
    assert_eq!(read_line(&mut replies), "line of 3\n");
}

#[test]
fn a_client_that_does_not_read_what_others_send_it_is_closed_at_the_send_limit() {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 256;
    let greeted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&greeted);
    let service = Recording::new(move |conn: &mut Conn| {
        while let Some(line) = conn.input().line(64)? {
            if line == b"hello\n" {
                seen.fetch_add(1, Ordering::SeqCst);
            } else if line == b"flood\n" {
                let chunk = vec![b'x'; CHUNK];
                let sent: usize = (0..CHUNKS).map(|_| conn.broadcast(&chunk)).sum();
                writeln!(conn.output(), "sent {sent}")?;
            }
        }
        Ok(())
    });
    let errors = Arc::clone(&service.errors);
    let running = serve(event_server(service).bind("127.0.0.1:0").unwrap());
    // It never reads; its small buffers leave the backlog on the server.
    let silent = small_buffered_client(running.addr());
    let mut flooder = connect(running.addr());
    let mut replies = lines_of(&flooder);
    // Both are open (each has been served once) before the flood.
    flooder.write_all(b"hello\n").unwrap();
    (&silent).write_all(b"hello\n").unwrap();
    wait_until("both connections served once", || {
        greeted.load(Ordering::SeqCst) == 2
    });
    flooder.write_all(b"flood\n").unwrap();
    // Fewer than all when the silent one was closed during the flood.
    assert!(read_line(&mut replies).starts_with("sent "));
    wait_until("the silent client closed by the server", || {
        errors.lock().unwrap().iter().any(|e| {
            e.kind == Some(io::ErrorKind::WouldBlock) && e.text.contains("does not keep up")
        })
    });
    // What it did get is followed by the end, not a hang.
    let mut silent = silent;
    let mut sink = Vec::new();
    let ended = silent.read_to_end(&mut sink);
    assert!(
        sink.len() < CHUNK * CHUNKS,
        "the silent client got all {} bytes",
        sink.len()
    );
    drop(ended);
    // The flooder is still served.
    flooder.write_all(b"flood\n").unwrap();
    assert!(read_line(&mut replies).starts_with("sent "));
}
