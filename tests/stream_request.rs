//! `StreamRequest`: reading through `rfile` (lines, exact binary reads, large
//! payloads), the reader and writer held at once (`split`), when what `wfile`
//! holds is sent, the client's address, the raw
//! stream, and the per-connection timeout.

use socketserver::{RequestError, Service, Stage, StreamRequest, ThreadingTcpServer, handler_fn};
use socketserver_tests::{connect, read_to_end, round_trip, serve, wait_until};
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const LOOPBACK: &str = "127.0.0.1:0";

/// Replies `> <line>` to each line, until the client half-closes.
fn echo_lines() -> impl Service<Request = StreamRequest> {
    handler_fn(|req: &mut StreamRequest| {
        let mut line = String::new();
        while req.rfile().read_line(&mut line)? > 0 {
            write!(req.wfile(), "> {line}")?;
            line.clear();
        }
        Ok(())
    })
}

/// Starts a threading server of `service` on loopback.
fn start(service: impl Service<Request = StreamRequest>) -> socketserver_tests::Running {
    serve(ThreadingTcpServer::bind(LOOPBACK, service).unwrap())
}

/// A client and a buffered reader of its replies.
fn line_client(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let client = connect(addr);
    let replies = BufReader::new(client.try_clone().unwrap());
    (client, replies)
}

fn read_line(replies: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    replies.read_line(&mut line).expect("read a reply line");
    line
}

#[test]
fn read_line_splits_lines_that_arrive_in_one_write() {
    let running = start(echo_lines());
    assert_eq!(
        round_trip(running.addr(), b"one\ntwo\nthree\n"),
        b"> one\n> two\n> three\n"
    );
}

#[test]
fn read_line_joins_a_line_split_across_writes() {
    let running = start(echo_lines());
    let (mut client, mut replies) = line_client(running.addr());
    client.write_all(b"first\nsec").unwrap();
    assert_eq!(read_line(&mut replies), "> first\n");
    // Sent after the reply to the first line, i.e. once the server has used up
    // its buffer: the rest of the line comes in a read of its own.
    client.write_all(b"ond\n").unwrap();
    assert_eq!(read_line(&mut replies), "> second\n");
}

#[test]
fn read_exact_reads_binary_frames() {
    // Each frame is a big-endian u32 length then its bytes; each comes back reversed.
    let reverse_frames = handler_fn(|req: &mut StreamRequest| {
        loop {
            let mut header = [0; 4];
            match req.rfile().read_exact(&mut header) {
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()),
                result => result?,
            }
            let mut body = vec![0; u32::from_be_bytes(header) as usize];
            req.rfile().read_exact(&mut body)?;
            body.reverse();
            req.wfile().write_all(&body)?;
        }
    });
    let running = start(reverse_frames);
    // Every byte value, then a frame larger than the request's 8 KiB buffer.
    let frames: [Vec<u8>; 3] = [
        (0..=255).collect(),
        b"\n\0\r\n".to_vec(),
        (0..20_000u32).map(|i| (i % 253) as u8).collect(),
    ];
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for frame in &frames {
        request.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        request.extend_from_slice(frame);
        expected.extend(frame.iter().rev());
    }
    assert!(round_trip(running.addr(), &request) == expected);
}

#[test]
fn a_mebibyte_is_echoed_back_exactly() {
    let payload: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    // 1000-byte reads and writes go through the buffers; 64 KiB ones bypass them.
    for chunk in [1000, 64 * 1024] {
        let echo = handler_fn(move |req: &mut StreamRequest| {
            let mut buf = vec![0; chunk];
            loop {
                let n = req.rfile().read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                req.wfile().write_all(&buf[..n])?;
            }
        });
        let running = start(echo);
        let mut client = connect(running.addr());
        let echoed = thread::scope(|scope| {
            // Send on another thread while this one reads: the server echoes as it
            // goes, and would block on full buffers if nobody read the echo.
            let mut writer = client.try_clone().unwrap();
            let payload = &payload;
            let sending = scope.spawn(move || {
                writer.write_all(payload)?;
                writer.shutdown(Shutdown::Write)
            });
            let echoed = read_to_end(&mut client);
            sending.join().unwrap().unwrap();
            echoed
        });
        assert_eq!(echoed.len(), payload.len(), "chunks of {chunk}");
        assert!(echoed == payload, "chunks of {chunk}: the echo differs");
    }
}

#[test]
fn each_reply_reaches_the_client_before_the_handler_reads_the_next_request() {
    let running = start(echo_lines());
    let (mut client, mut replies) = line_client(running.addr());
    // The client sends each line only once it has the previous reply: it would
    // wait in vain if wfile were not flushed before rfile blocks.
    for i in 0..5 {
        writeln!(client, "request {i}").unwrap();
        assert_eq!(read_line(&mut replies), format!("> request {i}\n"));
    }
}

#[test]
fn output_is_sent_when_the_handler_returns_without_reading() {
    let running = start(handler_fn(|req: &mut StreamRequest| {
        req.wfile().write_all(b"bye\n")
    }));
    assert_eq!(read_to_end(&mut connect(running.addr())), b"bye\n");
}

#[test]
fn client_address_is_the_address_of_the_clients_socket() {
    let running = start(handler_fn(|req: &mut StreamRequest| {
        let client = *req.client_address();
        write!(req.wfile(), "{client}")
    }));
    let mut client = connect(running.addr());
    let reply = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert_eq!(reply, client.local_addr().unwrap().to_string());
}

#[test]
fn stream_is_the_raw_tcp_stream() {
    let running = start(handler_fn(|req: &mut StreamRequest| {
        let (peer, local) = (req.stream().peer_addr()?, req.stream().local_addr()?);
        write!(req.wfile(), "{peer} {local}")
    }));
    let mut client = connect(running.addr());
    let reply = String::from_utf8(read_to_end(&mut client)).unwrap();
    let expected = format!("{} {}", client.local_addr().unwrap(), running.addr());
    assert_eq!(reply, expected);
}

/// What `handle_error` was given: the stage, the kind of the I/O error, and
/// whether it counts as a disconnect.
type Seen = Arc<Mutex<Vec<(Stage, Option<ErrorKind>, bool)>>>;

/// [`echo_lines`], except that the line `patient` lifts the server's timeout
/// for the rest of the connection; records what `handle_error` gets.
struct Patience {
    errors: Seen,
}

impl Service for Patience {
    type Request = StreamRequest;

    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let mut line = String::new();
        while req.rfile().read_line(&mut line)? > 0 {
            if line == "patient\n" {
                req.set_timeout(None)?;
            }
            write!(req.wfile(), "> {line}")?;
            line.clear();
        }
        Ok(())
    }

    fn handle_error(&self, _client: &SocketAddr, error: &RequestError) {
        let kind = error.io_error().map(io::Error::kind);
        let seen = (error.stage(), kind, error.is_disconnect());
        self.errors.lock().unwrap().push(seen);
    }
}

/// Serves [`Patience`] with a 100 ms connection timeout.
fn start_with_timeout() -> (socketserver_tests::Running, Seen) {
    let errors = Seen::default();
    let service = Patience {
        errors: Arc::clone(&errors),
    };
    let server = ThreadingTcpServer::builder(service)
        .timeout(Some(Duration::from_millis(100)))
        .bind(LOOPBACK)
        .unwrap();
    (serve(server), errors)
}

#[test]
fn the_server_closes_a_silent_client_after_its_timeout() {
    let (running, errors) = start_with_timeout();
    // Silent for ever; its own read waits up to BOUND, far beyond 100 ms.
    let mut silent = connect(running.addr());
    assert_eq!(read_to_end(&mut silent), b"");
    wait_until("handle_error is called", || {
        !errors.lock().unwrap().is_empty()
    });
    let (stage, kind, disconnect) = errors.lock().unwrap()[0];
    assert_eq!(stage, Stage::Handle);
    assert!(
        matches!(kind, Some(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{kind:?}"
    );
    assert!(disconnect);
}

#[test]
fn set_timeout_none_in_the_handler_overrides_the_servers_timeout() {
    let (running, errors) = start_with_timeout();
    let (mut patient, mut replies) = line_client(running.addr());
    patient.write_all(b"patient\n").unwrap();
    assert_eq!(read_line(&mut replies), "> patient\n");
    // Silent clients timing out one after the other show that the patient
    // client's handler has waited for its next line longer than the timeout,
    // the second one by a whole timeout more.
    for _ in 0..2 {
        assert_eq!(read_to_end(&mut connect(running.addr())), b"");
    }
    patient.write_all(b"still here\n").unwrap();
    assert_eq!(read_line(&mut replies), "> still here\n");
    assert_eq!(
        errors.lock().unwrap().len(),
        2,
        "only the silent clients failed"
    );
}

#[test]
fn split_halves_echo_with_io_copy() {
    let running = start(handler_fn(|req: &mut StreamRequest| {
        let (mut reader, mut writer) = req.split();
        io::copy(&mut reader, &mut writer).map(drop)
    }));
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(round_trip(running.addr(), &payload), payload);
}

#[test]
fn copy_to_echoes_a_megabyte_through_the_read_buffer_and_counts_it() {
    let copied = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&copied);
    let running = start(handler_fn(move |req: &mut StreamRequest| {
        let (mut reader, mut writer) = req.split();
        count.store(reader.copy_to(&mut writer)?, Ordering::SeqCst);
        Ok(())
    }));
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(round_trip(running.addr(), &payload), payload);
    running.stop().unwrap();
    assert_eq!(copied.load(Ordering::SeqCst), 1_000_000);
}

#[test]
fn copy_to_answers_each_line_before_the_next_arrives() {
    let running = start(handler_fn(|req: &mut StreamRequest| {
        let (mut reader, mut writer) = req.split();
        reader.copy_to(&mut writer).map(drop)
    }));
    let (mut client, mut replies) = line_client(running.addr());
    for i in 0..20 {
        client.write_all(format!("line {i}\n").as_bytes()).unwrap();
        assert_eq!(read_line(&mut replies), format!("line {i}\n"));
    }
}

#[test]
fn split_halves_write_the_read_buffer_itself() {
    let running = start(handler_fn(|req: &mut StreamRequest| {
        let (mut reader, mut writer) = req.split();
        loop {
            let input = reader.fill_buf()?;
            if input.is_empty() {
                return Ok(());
            }
            writer.write_all(input)?;
            let n = input.len();
            reader.consume(n);
        }
    }));
    // Replies must come back before the client sends more: what the writer
    // holds is sent before the reader waits.
    let (mut client, mut replies) = line_client(running.addr());
    for i in 0..20 {
        client.write_all(format!("line {i}\n").as_bytes()).unwrap();
        assert_eq!(read_line(&mut replies), format!("line {i}\n"));
    }
}

#[test]
fn split_lines_with_writeln_answers_each_line_before_the_next_arrives() {
    let running = start(handler_fn(|req: &mut StreamRequest| {
        let (reader, mut writer) = req.split();
        for line in reader.lines() {
            writeln!(writer, "{}", line?.to_uppercase())?;
        }
        Ok(())
    }));
    let (mut client, mut replies) = line_client(running.addr());
    client.write_all(b"one\n").unwrap();
    assert_eq!(read_line(&mut replies), "ONE\n");
    client.write_all(b"two\nthree\n").unwrap();
    assert_eq!(read_line(&mut replies), "TWO\n");
    assert_eq!(read_line(&mut replies), "THREE\n");
}

#[test]
fn split_after_rfile_keeps_what_rfile_read_ahead() {
    // The header line and the body arrive in one segment, so `read_line` has
    // the start of the body in its buffer: the halves must see it too.
    let running = start(handler_fn(|req: &mut StreamRequest| {
        let mut header = String::new();
        req.rfile().read_line(&mut header)?;
        let (mut reader, mut writer) = req.split();
        write!(writer, "{} ", header.trim())?;
        io::copy(&mut reader, &mut writer).map(drop)
    }));
    assert_eq!(
        round_trip(running.addr(), b"header\nbody that was read ahead"),
        b"header body that was read ahead"
    );
}
