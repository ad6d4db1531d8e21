//! The buffer-shaped handler (`Conn`) under the blocking models: called with
//! the bytes received so far, it consumes what it used, queues its replies,
//! keeps typed state per connection, sees the end of the client's input and
//! can still reply, may close the connection; framing helpers hand it whole
//! lines and frames; a message over its limit closes that connection with a
//! reported error, and the server goes on.

use socketserver::{
    Conn, Event, Pool, RequestError, Server, Service, Synchronous, Tcp, Threading, handler_fn,
};
use socketserver_tests::{BOUND, connect, line_lengths, read_to_end, serve};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

/// Each line back upper-cased, numbered per connection; `quit` ends it.
fn upper() -> impl Service<Request = Conn<u32>> {
    handler_fn(|conn: &mut Conn<u32>| {
        let (input, output, lines) = conn.parts();
        let mut quit = false;
        while let Some(line) = input.line(1024)? {
            if line == b"quit\n" {
                output.write_all(b"bye\n")?;
                quit = true;
                break;
            }
            *lines += 1;
            let text = String::from_utf8_lossy(line);
            writeln!(output, "{lines} {}", text.trim_end().to_uppercase())?;
        }
        if quit {
            conn.close();
        }
        Ok(())
    })
}

fn start<C: socketserver::Drives<S::Request>, S: Service>(
    concurrency: C,
    service: S,
) -> socketserver_tests::Running
where
    Tcp: socketserver::Yields<S::Request>,
    S::Request: socketserver::Request<Addr = SocketAddr>,
{
    let server = Server::<Tcp, Synchronous, S>::builder(service)
        .concurrency(concurrency)
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    serve(server)
}

fn lines_of(stream: &TcpStream) -> BufReader<TcpStream> {
    BufReader::new(stream.try_clone().unwrap())
}

fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a line from the server");
    line
}

/// What every model must do with `upper`.
fn lines_partial_writes_state_and_quit<C: socketserver::Drives<Conn<u32>>>(concurrency: C) {
    let running = start(concurrency, upper());
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    // A line in two writes: waits for the rest.
    client.write_all(b"hel").unwrap();
    client.flush().unwrap();
    client.write_all(b"lo\n").unwrap();
    assert_eq!(read_line(&mut replies), "1 HELLO\n");
    // Two lines in one write: both answered, numbered by this connection.
    client.write_all(b"a\nb\n").unwrap();
    assert_eq!(read_line(&mut replies), "2 A\n");
    assert_eq!(read_line(&mut replies), "3 B\n");
    // Another connection has its own state.
    let other = connect(running.addr());
    let mut other_replies = lines_of(&other);
    (&other).write_all(b"x\n").unwrap();
    assert_eq!(read_line(&mut other_replies), "1 X\n");
    // The handler closes: its reply comes first, then the end.
    client.write_all(b"quit\n").unwrap();
    assert_eq!(read_line(&mut replies), "bye\n");
    assert_eq!(read_line(&mut replies), "", "the connection ends after bye");
}

#[test]
fn synchronous_serves_a_buffer_handler() {
    let running = start(Synchronous, upper());
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    client.write_all(b"hel").unwrap();
    client.flush().unwrap();
    client.write_all(b"lo\nquit\n").unwrap();
    assert_eq!(read_line(&mut replies), "1 HELLO\n");
    assert_eq!(read_line(&mut replies), "bye\n");
    assert_eq!(read_line(&mut replies), "");
}

#[test]
fn threading_serves_a_buffer_handler() {
    lines_partial_writes_state_and_quit(Threading::default());
}

#[test]
fn pool_serves_a_buffer_handler() {
    lines_partial_writes_state_and_quit(Pool::new().workers(2));
}

#[test]
fn event_serves_a_buffer_handler() {
    lines_partial_writes_state_and_quit(Event::new().workers(2));
}

#[test]
fn a_partial_message_stays_in_the_input_until_the_rest_comes() {
    let running = start(Threading::default(), handler_fn(line_lengths));
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    client.write_all(b"hel").unwrap();
    assert_eq!(read_line(&mut replies), "holding 3\n");
    client.write_all(b"lo").unwrap();
    assert_eq!(read_line(&mut replies), "holding 5\n");
    client.write_all(b"\n").unwrap();
    assert_eq!(read_line(&mut replies), "line of 6\n");
}

#[test]
fn a_handler_that_takes_one_message_per_call_answers_pipelined_ones() {
    let one_at_a_time = handler_fn(|conn: &mut Conn| {
        let (input, output, _) = conn.parts();
        if let Some(line) = input.line(1024)? {
            output.write_all(line)?;
        }
        Ok(())
    });
    let running = start(Threading::default(), one_at_a_time);
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    // Three lines in one write: all answered without more input.
    client.write_all(b"a\nb\nc\n").unwrap();
    for expected in ["a\n", "b\n", "c\n"] {
        assert_eq!(read_line(&mut replies), expected);
    }
}

#[test]
fn the_end_of_input_gives_the_last_line_and_a_last_reply() {
    let running = start(Threading::default(), upper());
    let mut client = connect(running.addr());
    client.write_all(b"one\nno newline").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"1 ONE\n2 NO NEWLINE\n");
}

/// Counts each call of `handle` and what `handle_error` was told.
#[derive(Default)]
struct Seen {
    errors: Mutex<Vec<String>>,
}

struct Strict(Arc<Seen>);

impl Service for Strict {
    type Request = Conn;

    fn setup(&self, conn: &mut Conn) -> io::Result<()> {
        conn.write(b"welcome\n");
        Ok(())
    }

    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        let (input, output, _) = conn.parts();
        while let Some(line) = input.line(16)? {
            output.write_all(line)?;
        }
        Ok(())
    }

    fn handle_error(&self, _: &SocketAddr, error: &RequestError) {
        self.0.errors.lock().unwrap().push(error.to_string());
    }
}

#[test]
fn setup_queues_a_greeting_and_a_line_over_the_limit_ends_only_its_connection() {
    let seen = Arc::new(Seen::default());
    let running = start(Threading::default(), Strict(Arc::clone(&seen)));
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    assert_eq!(
        read_line(&mut replies),
        "welcome\n",
        "before the client sends"
    );
    client.write_all(b"short\n").unwrap();
    assert_eq!(read_line(&mut replies), "short\n");
    client.write_all(&[b'x'; 40]).unwrap();
    // Closed after the long line: an end, or a reset if the server closed
    // before reading all of it.
    let mut end = String::new();
    match replies.read_line(&mut end) {
        Ok(_) => assert_eq!(end, "", "closed after the long line"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
    // The server goes on.
    let mut next = connect(running.addr());
    next.write_all(b"again\n").unwrap();
    next.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut next), b"welcome\nagain\n");
    running.stop().unwrap();
    let errors = seen.errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("over the limit of 16"), "{errors:?}");
}

#[test]
fn frames_round_trip() {
    let echo_frames = handler_fn(|conn: &mut Conn| {
        let (input, output, _) = conn.parts();
        while let Some(payload) = input.frame(1 << 20)? {
            output.write_frame(payload)?;
        }
        Ok(())
    });
    let running = start(Pool::new().workers(1), echo_frames);
    let mut client = connect(running.addr());
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let mut request = Vec::new();
    for payload in [&b"first"[..], &b""[..], &big[..]] {
        request.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        request.extend_from_slice(payload);
    }
    client.write_all(&request).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), request);
}

#[test]
fn a_handler_that_never_consumes_is_stopped_at_the_input_limit() {
    let seen = Arc::new(Seen::default());
    struct Hoarder(Arc<Seen>);
    impl Service for Hoarder {
        type Request = Conn;
        fn handle(&self, _: &mut Conn) -> io::Result<()> {
            Ok(())
        }
        fn handle_error(&self, _: &SocketAddr, error: &RequestError) {
            self.0.errors.lock().unwrap().push(error.to_string());
        }
    }
    let running = start(Threading::default(), Hoarder(Arc::clone(&seen)));
    let mut client = connect(running.addr());
    // More than the limit; the server stops reading and closes, so some of
    // it may not be taken: a reset then is fine.
    let _ = client.write_all(&vec![b'y'; 200_000]);
    let _ = client.shutdown(Shutdown::Write);
    let mut rest = Vec::new();
    let _ = io::Read::read_to_end(&mut client, &mut rest);
    assert!(rest.is_empty());
    running.stop().unwrap();
    let errors = seen.errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("consumed none"), "{errors:?}");
}

/// The most output a handler found still queued when it was called: what a
/// connection holds at once.
#[derive(Default)]
struct MostQueued(Mutex<usize>);

impl MostQueued {
    fn note(&self, queued: usize) {
        let mut most = self.0.lock().unwrap();
        *most = (*most).max(queued);
    }

    fn get(&self) -> usize {
        *self.0.lock().unwrap()
    }
}

const PIECE: usize = 64 * 1024;

/// `N\n` asks for N pieces of 64 KiB, sent a piece per call, then `end\n`.
fn pieces(most: Arc<MostQueued>) -> impl Service<Request = Conn<u32>> {
    handler_fn(move |conn: &mut Conn<u32>| {
        most.note(conn.output().len());
        if *conn.state() == 0 {
            let Some(line) = conn.input().line(16)? else {
                return Ok(());
            };
            let n = String::from_utf8_lossy(line).trim().parse().unwrap_or(0);
            *conn.state() = n;
        }
        let left = *conn.state();
        if left == 0 {
            return Ok(());
        }
        let byte = b'a' + (left % 26) as u8;
        conn.write(&[byte; PIECE]);
        *conn.state() = left - 1;
        if left == 1 {
            conn.write(b"end\n");
        } else {
            conn.resume_when_sent();
        }
        Ok(())
    })
}

fn a_large_reply_goes_a_piece_per_call<C: socketserver::Drives<Conn<u32>>>(concurrency: C) {
    let most = Arc::new(MostQueued::default());
    let running = start(concurrency, pieces(Arc::clone(&most)));
    let mut client = connect(running.addr());
    let n = 160; // 10 MiB
    client.write_all(format!("{n}\n").as_bytes()).unwrap();
    let mut reply = vec![0; n * PIECE + 4];
    io::Read::read_exact(&mut client, &mut reply).unwrap();
    for (i, piece) in reply[..n * PIECE].chunks(PIECE).enumerate() {
        let left = (n - i) as u32;
        let byte = b'a' + (left % 26) as u8;
        assert!(piece.iter().all(|&b| b == byte), "piece {i} is not whole");
    }
    assert_eq!(&reply[n * PIECE..], b"end\n");
    assert_eq!(
        most.get(),
        0,
        "called again only once everything queued had gone"
    );
}

#[test]
fn a_large_reply_goes_a_piece_per_call_under_sync() {
    a_large_reply_goes_a_piece_per_call(Synchronous);
}

#[test]
fn a_large_reply_goes_a_piece_per_call_under_threading() {
    a_large_reply_goes_a_piece_per_call(Threading::default());
}

#[test]
fn a_large_reply_goes_a_piece_per_call_under_pool() {
    a_large_reply_goes_a_piece_per_call(Pool::new().workers(2));
}

#[test]
fn a_large_reply_goes_a_piece_per_call_under_event() {
    a_large_reply_goes_a_piece_per_call(Event::new().workers(2));
}

/// Each line gets 100 KiB back, one line per call.
fn large_replies(most: Arc<MostQueued>) -> impl Service<Request = Conn> {
    handler_fn(move |conn: &mut Conn| {
        most.note(conn.output().len());
        let (input, output, _) = conn.parts();
        if input.line(16)?.is_some() {
            output.write_all(&[b'r'; 100 * 1024])?;
        }
        Ok(())
    })
}

/// Pipelined requests whose replies the client does not read yet: the
/// handler is not called for the next while a lot is queued.
fn pipelined_requests_wait_for_their_replies_to_go<C: socketserver::Drives<Conn>>(concurrency: C) {
    let most = Arc::new(MostQueued::default());
    let running = start(concurrency, large_replies(Arc::clone(&most)));
    let mut client = connect(running.addr());
    let requests = 200; // 20 MB of replies
    client.write_all(&b"x\n".repeat(requests)).unwrap();
    let mut reply = vec![0; requests * 100 * 1024];
    io::Read::read_exact(&mut client, &mut reply).unwrap();
    assert!(reply.iter().all(|&b| b == b'r'));
    // Under `event`, the next call waits while over 256 KiB is queued (so at
    // most that plus one reply is); the blocking models send each reply
    // before the next call.
    let most = most.get();
    assert!(
        most <= 256 * 1024,
        "{most} bytes were queued when the handler was called"
    );
}

#[test]
fn pipelined_requests_wait_for_their_replies_to_go_under_threading() {
    pipelined_requests_wait_for_their_replies_to_go(Threading::default());
}

#[test]
fn pipelined_requests_wait_for_their_replies_to_go_under_pool() {
    pipelined_requests_wait_for_their_replies_to_go(Pool::new().workers(2));
}

#[test]
fn pipelined_requests_wait_for_their_replies_to_go_under_event() {
    pipelined_requests_wait_for_their_replies_to_go(Event::new().workers(2));
}

/// Greets each connection, tells the others it joined, and relays each line
/// to every other connection.
fn relay() -> impl Service<Request = Conn> {
    struct Relay;
    impl Service for Relay {
        type Request = Conn;
        fn setup(&self, conn: &mut Conn) -> io::Result<()> {
            conn.write(b"welcome\n");
            conn.broadcast(b"joined\n");
            Ok(())
        }
        fn handle(&self, conn: &mut Conn) -> io::Result<()> {
            while let Some(line) = conn.input().line(4096)? {
                let line = line.to_vec();
                conn.broadcast(&line);
            }
            Ok(())
        }
    }
    Relay
}

/// Under a blocking model, the bytes one connection sends another are
/// written on the sender's thread: a client that reads nothing must not
/// hold the senders for ever. Past the wait for it (5 s with no `timeout`),
/// its connection is closed and the others go on.
#[test]
fn a_client_that_reads_nothing_holds_no_sender_for_ever() {
    let running = start(Threading::default(), relay());
    // Each reads its welcome: then it is open to what the others send.
    let welcomed = || {
        let stream = connect(running.addr());
        let mut reader = lines_of(&stream);
        assert_eq!(read_line(&mut reader), "welcome\n");
        (stream, reader)
    };
    let (_lazy, _) = welcomed();
    let (mut sender, _) = welcomed();
    let (receiver, mut received) = welcomed();
    // The lines stop while the server waits for the lazy client (5 s, more
    // if its system takes some of them meanwhile, and more on a busy
    // machine): no timeout of the test's may be near that.
    for stream in [&sender, &receiver] {
        stream.set_read_timeout(Some(6 * BOUND)).unwrap();
        stream.set_write_timeout(Some(6 * BOUND)).unwrap();
    }
    let line = [vec![b'y'; 999], b"\n".to_vec()].concat();
    let lines = 16_000; // 16 MB: more than the buffers towards the lazy client hold
    let reading = std::thread::spawn(move || {
        let mut got = 0;
        while got < lines {
            let line = read_line(&mut received);
            if line == "joined\n" {
                continue;
            }
            assert_eq!(line.len(), 1000, "line {got}");
            got += 1;
        }
        got
    });
    for _ in 0..lines {
        sender.write_all(&line).unwrap();
    }
    assert_eq!(reading.join().unwrap(), lines);
    // A newcomer is greeted: nobody is stuck.
    let (_newcomer, _) = welcomed();
    drop(receiver);
}

/// What `setup` queues (a greeting) goes out before anything other
/// connections send to the new one, under every model.
fn setup_output_goes_first<C: socketserver::Drives<Conn>>(concurrency: C) {
    let running = start(concurrency, relay());
    let chatter = connect(running.addr());
    let mut chatter_lines = lines_of(&chatter);
    assert_eq!(read_line(&mut chatter_lines), "welcome\n");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let chatting = std::thread::spawn({
        let stop = Arc::clone(&stop);
        let mut chatter = chatter.try_clone().unwrap();
        move || {
            for _ in 0..1_000_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                chatter.write_all(b"hello\n").unwrap();
            }
        }
    });
    let draining = std::thread::spawn(move || {
        // The chatter's own copy of joins; read until the server closes.
        let mut sink = Vec::new();
        let _ = io::Read::read_to_end(&mut chatter_lines, &mut sink);
    });
    for i in 0..100 {
        let newcomer = connect(running.addr());
        let mut lines = lines_of(&newcomer);
        assert_eq!(read_line(&mut lines), "welcome\n", "newcomer {i}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    chatting.join().unwrap();
    // Its end of input ends its connection, and so the draining.
    chatter.shutdown(Shutdown::Write).unwrap();
    draining.join().unwrap();
}

#[test]
fn setup_output_goes_first_under_threading() {
    setup_output_goes_first(Threading::default());
}

#[test]
fn setup_output_goes_first_under_event() {
    setup_output_goes_first(Event::new().workers(2));
}

/// A batch of pipelined requests larger than a new connection's first
/// input buffer (512 bytes) comes in one read once the buffer has grown, so
/// that its replies leave together, even though the handler consumes all
/// of every batch (a batch split in two would be answered in two writes,
/// the second held by Nagle's algorithm until the client's delayed ACK).
#[test]
fn a_batch_of_pipelined_requests_comes_in_one_read_once_the_buffer_has_grown() {
    let calls: Arc<Mutex<Vec<usize>>> = Arc::default();
    let service = handler_fn({
        let calls = Arc::clone(&calls);
        move |conn: &mut Conn| {
            let (input, output, _) = conn.parts();
            let mut lines = 0;
            while let Some(line) = input.line(1024)? {
                output.write_all(line)?;
                lines += 1;
            }
            calls.lock().unwrap().push(lines);
            Ok(())
        }
    });
    let running = start(Threading::default(), service);
    let mut client = connect(running.addr());
    let mut replies = lines_of(&client);
    let batch = format!("{}\n", "x".repeat(44)).repeat(16); // 720 bytes
    for _ in 0..4 {
        calls.lock().unwrap().clear();
        client.write_all(batch.as_bytes()).unwrap();
        for _ in 0..16 {
            assert_eq!(read_line(&mut replies).len(), 45);
        }
    }
    assert_eq!(*calls.lock().unwrap(), [16], "the last batch, by call");
}

/// A connection whose `setup` queues nothing, and whose handler writes
/// nothing of its own, still gets what others send it at once.
#[test]
fn a_connection_that_writes_nothing_of_its_own_gets_what_others_send() {
    let quiet_relay = handler_fn(|conn: &mut Conn| {
        while let Some(line) = conn.input().line(1024)? {
            let line = line.to_vec();
            conn.broadcast(&line);
        }
        Ok(())
    });
    let running = start(Threading::default(), quiet_relay);
    let mut first = connect(running.addr());
    let mut second = connect(running.addr());
    let mut first_lines = lines_of(&first);
    let mut second_lines = lines_of(&second);
    // Once the first hears the second, both are open to each other.
    for attempt in 0.. {
        assert!(attempt < 1000, "the first never heard the second");
        second.write_all(b"ping\n").unwrap();
        first
            .set_read_timeout(Some(std::time::Duration::from_millis(10)))
            .unwrap();
        let mut line = String::new();
        if first_lines.read_line(&mut line).is_ok() && line == "ping\n" {
            break;
        }
    }
    first.set_read_timeout(Some(BOUND)).unwrap();
    first.write_all(b"pong\n").unwrap();
    assert_eq!(read_line(&mut second_lines), "pong\n");
}

/// A line within `within`, or what went wrong.
fn line_within(stream: &TcpStream, within: std::time::Duration) -> Result<String, String> {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut line = String::new();
    match lines_of(stream).read_line(&mut line) {
        Ok(_) => Ok(line),
        Err(e) => Err(format!("{e} after {within:?}")),
    }
}

/// Clients of `relay` (a greeting and a broadcast in `setup`, as the chat
/// example does) that connect at once are all greeted: a connection in its
/// `setup` is not yet one others send to, so no two setups wait on each
/// other.
#[test]
fn clients_whose_setups_broadcast_at_once_are_all_greeted() {
    let running = start(Threading::default(), relay());
    let addr = running.addr();
    for round in 0..20 {
        let clients: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(move || {
                    let stream = connect(addr);
                    line_within(&stream, BOUND)
                })
            })
            .collect();
        for client in clients {
            assert_eq!(
                client.join().unwrap().as_deref(),
                Ok("welcome\n"),
                "round {round}"
            );
        }
    }
}

/// `send_to` its own id from `setup`: not reachable yet, so an error, not a
/// wait for ever.
#[test]
fn a_send_to_itself_during_setup_is_refused() {
    let told: Arc<Mutex<Option<io::ErrorKind>>> = Arc::default();
    struct SelfSend(Arc<Mutex<Option<io::ErrorKind>>>);
    impl Service for SelfSend {
        type Request = Conn;
        fn setup(&self, conn: &mut Conn) -> io::Result<()> {
            let sent = conn.send_to(conn.id(), b"echo\n");
            *self.0.lock().unwrap() = sent.err().map(|e| e.kind());
            conn.write(b"welcome\n");
            Ok(())
        }
        fn handle(&self, _: &mut Conn) -> io::Result<()> {
            Ok(())
        }
    }
    let running = start(Threading::default(), SelfSend(Arc::clone(&told)));
    let client = connect(running.addr());
    assert_eq!(line_within(&client, BOUND).as_deref(), Ok("welcome\n"));
    assert_eq!(*told.lock().unwrap(), Some(io::ErrorKind::NotFound));
}

/// A handler that waits for something by asking to resume with nothing
/// queued is called again at its connection's next turn: under `event` and
/// `pool` (one worker), the other connections are served meanwhile.
fn resume_with_nothing_queued_lets_others_be_served<C: socketserver::Drives<Conn<bool>>>(
    concurrency: C,
) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let released = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let service = handler_fn({
        let released = Arc::clone(&released);
        let calls = Arc::clone(&calls);
        move |conn: &mut Conn<bool>| {
            calls.fetch_add(1, Ordering::Relaxed);
            while let Some(line) = conn.input().line(64)? {
                if line == b"wait\n" {
                    *conn.state() = true;
                } else {
                    released.store(true, Ordering::SeqCst);
                    conn.write(b"ok\n");
                }
            }
            if *conn.state() {
                if released.load(Ordering::SeqCst) {
                    *conn.state() = false;
                    conn.write(b"released\n");
                } else {
                    conn.resume_when_sent();
                }
            }
            Ok(())
        }
    });
    let running = start(concurrency, service);
    let mut waiter = connect(running.addr());
    waiter.write_all(b"wait\n").unwrap();
    socketserver_tests::wait_until("the waiter is called", || calls.load(Ordering::Relaxed) > 0);
    let mut other = connect(running.addr());
    other.write_all(b"release\n").unwrap();
    assert_eq!(line_within(&other, BOUND).as_deref(), Ok("ok\n"));
    assert_eq!(line_within(&waiter, BOUND).as_deref(), Ok("released\n"));
}

#[test]
fn resume_with_nothing_queued_lets_others_be_served_under_threading() {
    resume_with_nothing_queued_lets_others_be_served(Threading::default());
}

#[test]
fn resume_with_nothing_queued_lets_others_be_served_under_event() {
    resume_with_nothing_queued_lets_others_be_served(Event::new().workers(1));
}

#[test]
fn resume_with_nothing_queued_lets_others_be_served_under_pool() {
    resume_with_nothing_queued_lets_others_be_served(Pool::new().workers(1));
}

/// A server whose connections ask with `big` for a reply of `big` bytes
/// (the first to ask is the target), and with any other line send
/// `hello\n` to the target, answering `sent` or the error; with the
/// server's `timeout`.
fn serve_a_big_reply(
    big: usize,
    timeout: std::time::Duration,
) -> (
    socketserver_tests::Running,
    Arc<Mutex<Option<socketserver::ConnId>>>,
) {
    let target: Arc<Mutex<Option<socketserver::ConnId>>> = Arc::default();
    let service = handler_fn({
        let target = Arc::clone(&target);
        move |conn: &mut Conn| {
            while let Some(line) = conn.input().line(64)? {
                if line == b"big\n" {
                    *target.lock().unwrap() = Some(conn.id());
                    conn.write(&vec![b'b'; big]);
                } else {
                    let to = target.lock().unwrap().expect("big first");
                    let answer = match conn.send_to(to, b"hello\n") {
                        Ok(()) => "sent\n".to_owned(),
                        Err(e) => format!("{e}\n"),
                    };
                    conn.write(answer.as_bytes());
                }
            }
            Ok(())
        }
    });
    let server = Server::<Tcp, Threading, _>::builder(service)
        .timeout(Some(timeout))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    (serve(server), target)
}

/// A client that reads steadily, if slowly, is waited for by a send queued
/// behind a long reply to it, however long that takes: only one that takes
/// nothing for the wait (here the server's 1 s `timeout`) is closed.
#[test]
fn a_client_that_keeps_reading_is_not_closed_by_a_send() {
    const BIG: usize = 16 << 20;
    let (running, _target) = serve_a_big_reply(BIG, std::time::Duration::from_secs(1));
    // A small receive buffer, so that the reply waits on this client's
    // reading, not in the kernel's buffers.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.connect(&running.addr().into()).unwrap();
    let mut reader = TcpStream::from(socket);
    reader.set_read_timeout(Some(BOUND)).unwrap();
    reader.write_all(b"big\n").unwrap();
    // About 4 MB/s: 4 s for all of it, something every few milliseconds.
    let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reading = std::thread::spawn({
        let started = Arc::clone(&started);
        move || {
            let mut got = 0;
            let mut buf = vec![0; 32 * 1024];
            while got < BIG + 6 {
                match io::Read::read(&mut reader, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
                started.store(true, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(8));
            }
            got
        }
    });
    // The reply is on its way (its write holds the connection) before the
    // send comes.
    socketserver_tests::wait_until("the big reply is coming", || {
        started.load(std::sync::atomic::Ordering::Relaxed)
    });
    let mut sender = connect(running.addr());
    sender.write_all(b"tell\n").unwrap();
    let told = line_within(&sender, BOUND);
    let got = reading.join().unwrap();
    assert_eq!((told.as_deref(), got), (Ok("sent\n"), BIG + 6));
}

/// As `a_client_that_keeps_reading_is_not_closed_by_a_send`, but the client
/// reads 8 KiB every 100 ms (80 KiB/s) for 6 s, twice the server's 3 s
/// `timeout`, then the rest at once: what it takes counts as its system
/// acknowledges it (on loopback, 64 KiB at a time), not once a large write
/// has ended, so the send waiting behind the reply never finds it idle, and
/// goes after it.
#[test]
fn a_client_reading_80_kib_per_second_is_not_closed_by_a_send() {
    use std::time::Duration;
    const BIG: usize = 8 << 20;
    let (running, _target) = serve_a_big_reply(BIG, Duration::from_secs(3));
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.connect(&running.addr().into()).unwrap();
    let mut reader = TcpStream::from(socket);
    reader.set_read_timeout(Some(BOUND)).unwrap();
    reader.write_all(b"big\n").unwrap();
    // The reply is being written when the send comes: it waits behind it.
    reader.peek(&mut [0]).unwrap();
    let reading = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0; 8 * 1024];
        for _ in 0..60 {
            match io::Read::read(&mut reader, &mut buf) {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = io::Read::take(&mut reader, (BIG + 6 - got.len()) as u64).read_to_end(&mut got);
        got
    });
    let mut sender = connect(running.addr());
    sender.set_read_timeout(Some(6 * BOUND)).unwrap();
    sender.write_all(b"tell\n").unwrap();
    let told = line_within(&sender, 6 * BOUND);
    let got = reading.join().unwrap();
    let at = got.windows(6).position(|w| w == b"hello\n");
    assert_eq!(
        (told.as_deref(), got.len(), at),
        (Ok("sent\n"), BIG + 6, Some(BIG))
    );
}

/// A greeting whose first flush times out is left half sent (`close` tries
/// the rest): the connection stays closed to others' sends, so no other
/// connection's bytes go out in the middle of it.
#[test]
fn a_send_never_lands_inside_a_greeting_whose_flush_timed_out() {
    use std::time::Duration;
    const GREETING: usize = 8 << 20;
    let target: Arc<Mutex<Option<socketserver::ConnId>>> = Arc::default();
    struct Greeter(Arc<Mutex<Option<socketserver::ConnId>>>);
    impl Service for Greeter {
        type Request = Conn;
        fn setup(&self, conn: &mut Conn) -> io::Result<()> {
            let mut target = self.0.lock().unwrap();
            if target.is_none() {
                *target = Some(conn.id());
                let mut greeting = vec![b'G'; GREETING];
                greeting.push(b'\n');
                conn.write(&greeting);
            }
            Ok(())
        }
        fn handle(&self, conn: &mut Conn) -> io::Result<()> {
            while let Some(_line) = conn.input().line(64)? {
                let to = self.0.lock().unwrap().expect("greeted first");
                let mut answer = String::from("gave up\n");
                // Bounded: 3,000 tries, 2 ms apart.
                for _ in 0..3000 {
                    match conn.send_to(to, b"hello\n") {
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Ok(()) => {
                            answer = "sent\n".to_owned();
                            break;
                        }
                        Err(e) => {
                            answer = format!("{e}\n");
                            break;
                        }
                    }
                }
                conn.write(answer.as_bytes());
            }
            Ok(())
        }
        // A `finish` that takes a while (a log, a database): the greeting's
        // rest waits for `close`.
        fn finish(&self, _: &mut Conn) -> io::Result<()> {
            std::thread::sleep(Duration::from_millis(1000));
            Ok(())
        }
    }
    let server = Server::<Tcp, Threading, _>::builder(Greeter(Arc::clone(&target)))
        .timeout(Some(Duration::from_secs(1)))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.connect(&running.addr().into()).unwrap();
    let mut greeted = TcpStream::from(socket);
    greeted.set_read_timeout(Some(BOUND)).unwrap();
    socketserver_tests::wait_until("the greeter is set up", || target.lock().unwrap().is_some());
    let mut sender = connect(running.addr());
    sender.write_all(b"tell\n").unwrap();
    // The greeted client reads nothing for 4 s (its flush times out after
    // 1 s of that), then everything.
    std::thread::sleep(Duration::from_millis(4000));
    let got = read_to_end(&mut greeted);
    let told = line_within(&sender, BOUND);
    // As much of the greeting as the timeout let through, and nothing
    // inside it.
    let greeting = &got[..got.len().min(GREETING)];
    assert!(
        greeting.iter().all(|&b| b == b'G'),
        "another connection's bytes inside the greeting; the sender was told {told:?}"
    );
}

/// A reply whose write times out (its client reads nothing for longer than
/// the server's 1 s `timeout`) is left half sent: a send waiting behind it
/// is refused, and never lands inside it.
#[test]
fn a_send_never_lands_inside_a_reply_whose_write_timed_out() {
    use std::time::Duration;
    const BIG: usize = 16 << 20;
    let (running, _target) = serve_a_big_reply(BIG, Duration::from_secs(1));
    let mut reader = connect(running.addr());
    reader.write_all(b"big\n").unwrap();
    // The reply is being written (the first of it has come) when the send
    // comes: the send waits behind it.
    reader.peek(&mut [0]).unwrap();
    let mut sender = connect(running.addr());
    sender.write_all(b"tell\n").unwrap();
    let told = line_within(&sender, BOUND);
    let mut got = Vec::new();
    let _ = io::Read::read_to_end(&mut reader, &mut got);
    let at = got.windows(6).position(|w| w == b"hello\n");
    assert!(
        at.is_none_or(|at| at >= BIG),
        "another connection's bytes inside the reply (at {at:?} of {}); the sender was told \
         {told:?}",
        got.len()
    );
}
