//! Integration tests of the example programs, run as the binaries they are.
//!
//! Each test starts an example (built by `cargo test` before the tests run) on a
//! free port of 127.0.0.1, reads the real address back from its `listening on`
//! log line, talks to it over real sockets, and stops it with a signal sent to
//! its process id. Every wait is bounded, and a guard kills and reaps the child
//! if a test fails half-way, so that no process is left behind.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to announce its address.
const STARTUP: Duration = Duration::from_secs(30);
/// How long a process may take to exit once told to.
const EXIT: Duration = Duration::from_secs(30);
/// The read and write timeout of every client socket.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// The examples' `shutdown_timeout`, and what a stop may take beyond it on a
/// loaded machine.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);
const MARGIN: Duration = Duration::from_secs(8);
/// How often a process is checked for exit.
const POLL: Duration = Duration::from_millis(10);

const MODES: [&str; 4] = ["sync", "threading", "forking", "pool"];
/// The modes of the examples whose handler runs in every mode (buffer-shaped
/// or datagram).
const ALL_MODES: [&str; 5] = ["sync", "threading", "forking", "pool", "event"];
const EXAMPLES: [&str; 4] = ["echo", "upper", "raw_runtime", "udp_echo"];

/// The path of an example binary: the tests run as `target/<profile>/deps/cli-HASH`
/// and the examples are built into `target/<profile>/examples/`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("cannot find the path of the test binary");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is not in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "example binary {} not found: build it with `cargo build -p socketserver-examples \
         --examples` (`cargo test -p socketserver-examples` builds it before the tests)",
        path.display()
    );
    path
}

/// A child process that is killed and reaped when dropped, whatever happened.
struct Process {
    child: Child,
}

impl Process {
    fn spawn(command: &mut Command) -> Process {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Process { child }
    }

    /// Waits, up to [`EXIT`], for the process to exit.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + EXIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot wait for the child") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process {} still running {EXIT:?} after it was told to stop",
                self.child.id()
            );
            thread::sleep(POLL);
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Nothing to do if it has exited and been reaped already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `reader` to its end on a thread of its own, line by line, and sends
/// each line (lossily decoded) through the returned channel. It keeps reading
/// after the receiver is gone, so the child never blocks on a full pipe.
fn forward_lines(reader: impl Read + Send + 'static) -> Receiver<String> {
    let (lines, received) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(reader).split(b'\n') {
            let Ok(line) = line else { break };
            let _ = lines.send(String::from_utf8_lossy(&line).into_owned());
        }
    });
    received
}

/// A running example server.
struct Server {
    process: Process,
    addr: SocketAddr,
    stderr: Receiver<String>,
    /// Every line of standard error received so far, for failure messages.
    log: Vec<String>,
}

impl Server {
    /// Starts example `name` on a free port of 127.0.0.1 in `mode`, with more
    /// arguments `extra`, and waits until it listens.
    fn start(name: &str, mode: &str, extra: &[&str]) -> Server {
        let mut args = vec!["--mode", mode];
        args.extend_from_slice(extra);
        Server::start_with(name, &args)
    }

    /// Starts the example `name` with `args` (and `--addr 127.0.0.1:0`).
    fn start_with(name: &str, args: &[&str]) -> Server {
        let mut command = Command::new(example(name));
        command.args(["--addr", "127.0.0.1:0"]).args(args);
        Server::start_command(command)
    }

    /// Starts `command`, an example with its arguments, logging at `info` to
    /// a pipe, and waits until it listens; the address is read back from
    /// its log (a Unix socket's is not: `addr` is then 127.0.0.1:0).
    fn start_command(mut command: Command) -> Server {
        let mut process = Process::spawn(
            command
                .env("RUST_LOG", "info")
                .env("RUST_LOG_STYLE", "never")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let stderr = forward_lines(process.child.stderr.take().expect("stderr is piped"));
        let mut server = Server {
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
            log: Vec::new(),
        };
        let line = server.wait_for_line("listening on ");
        let addr = line
            .split_once("listening on ")
            .map(|(_, addr)| addr.trim())
            .expect("the line was matched on this");
        if let Ok(addr) = addr.parse() {
            server.addr = addr;
        }
        server
    }

    /// Waits, up to [`STARTUP`], for a line of standard error containing `needle`.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + STARTUP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {needle:?} within {STARTUP:?}; stderr so far:\n{}",
                        self.log.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.process.wait();
                    panic!(
                        "the server exited ({status}) without a line with {needle:?}; \
                         stderr:\n{}",
                        self.log.join("\n")
                    )
                }
            }
        }
    }

    /// Sends `signal` (`TERM`, `INT`) to the server's process and waits for it to
    /// exit; then collects the rest of its standard error.
    fn stop(&mut self, signal: &str) -> ExitStatus {
        let pid = self.process.child.id().to_string();
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("cannot run `kill`");
        assert!(kill.success(), "`kill -{signal} {pid}` failed: {kill}");
        let status = self.process.wait();
        // The process has exited: its standard error ends (bounded all the same).
        let deadline = Instant::now() + EXIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stderr still open after exit"),
            }
        }
        status
    }

    /// Stops the server with `signal` and checks it exited cleanly.
    fn stop_cleanly(&mut self, signal: &str) {
        let status = self.stop(signal);
        let log = self.log.join("\n");
        assert!(
            status.success(),
            "SIG{signal} gave {status}, not success; stderr:\n{log}"
        );
        assert!(
            self.log.iter().any(|line| line.ends_with("stopped")),
            "no `stopped` line after SIG{signal}; stderr:\n{log}"
        );
    }

    /// A new client connection, with timeouts on reads and writes.
    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr)
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.addr));
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }
}

/// Sends `request` and reads back exactly `reply.len()` bytes, which must be `reply`.
fn exchange(stream: &mut TcpStream, request: &[u8], reply: &[u8]) {
    stream.write_all(request).expect("cannot send");
    let mut got = vec![0; reply.len()];
    stream
        .read_exact(&mut got)
        .unwrap_or_else(|e| panic!("no full reply to {request:?}: {e}"));
    assert_eq!(got, reply, "wrong reply to {request:?}");
}

/// Reads until the server closes the connection; a reset counts as closed.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server did not close the connection: {e}"),
    }
    rest
}

/// Runs an example to its end with `args` (for arguments that make it exit at
/// once): its exit status, standard output and standard error.
fn run_to_end(name: &str, args: &[&str]) -> (ExitStatus, String, String) {
    let mut process = Process::spawn(
        Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let stdout = forward_lines(process.child.stdout.take().expect("stdout is piped"));
    let stderr = forward_lines(process.child.stderr.take().expect("stderr is piped"));
    let status = process.wait();
    let collect = |lines: Receiver<String>| {
        let deadline = Instant::now() + EXIT;
        let mut text = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    text.push_str(&line);
                    text.push('\n');
                }
                Err(RecvTimeoutError::Disconnected) => return text,
                Err(RecvTimeoutError::Timeout) => panic!("output still open after exit"),
            }
        }
    };
    (status, collect(stdout), collect(stderr))
}

#[test]
fn help_describes_the_options_and_the_protocol() {
    for (name, port, protocol) in [
        ("echo", "7007", "echo"),
        ("upper", "7008", "upper-cased"),
        ("raw_runtime", "7009", "echo"),
        ("udp_echo", "7010", "datagram"),
    ] {
        let (status, stdout, stderr) = run_to_end(name, &["--help"]);
        assert!(
            status.success(),
            "{name} --help: {status}; stderr:\n{stderr}"
        );
        for word in [
            "--addr",
            "--mode",
            "--timeout",
            "sync",
            "threading",
            port,
            protocol,
        ] {
            assert!(
                stdout.contains(word),
                "{name} --help does not mention {word:?}:\n{stdout}"
            );
        }
    }
}

#[test]
fn bad_arguments_are_refused() {
    for name in EXAMPLES {
        for args in [
            &["--mode", "fork"][..],
            &["--timeout", "0"],
            &["--timeout", "soon"],
        ] {
            let (status, _, stderr) = run_to_end(name, args);
            assert_eq!(
                status.code(),
                Some(2),
                "{name} {args:?} should be a usage error; stderr:\n{stderr}"
            );
            assert!(stderr.contains(args[1]), "{name} {args:?}: {stderr}");
        }
    }
}

#[test]
fn an_address_that_cannot_be_bound_fails() {
    for name in EXAMPLES {
        let (status, _, stderr) = run_to_end(name, &["--addr", "not an address"]);
        assert!(!status.success(), "{name} started on a bad address");
        assert!(
            !stderr.contains("listening on"),
            "{name} claims to listen:\n{stderr}"
        );
    }
}

/// Bytes round trip through an echo server (`echo` or `raw_runtime`), in `mode`.
fn echo_round_trip(mode: &str) {
    for name in ["echo", "raw_runtime"] {
        echo_round_trip_of(name, mode);
    }
}

fn echo_round_trip_of(name: &str, mode: &str) {
    let mut server = Server::start(name, mode, &[]);
    let mut client = server.connect();
    exchange(&mut client, b"hello\n", b"hello\n");
    // Not UTF-8, and a NUL.
    let binary = [0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3];
    exchange(&mut client, &binary, &binary);

    // 100 KiB holding every byte value, sent while the echo is read back, then
    // end of input: the server sends the rest and closes.
    let payload: Vec<u8> = (0..100 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let mut writer = client.try_clone().unwrap();
    let sent = payload.clone();
    let sending = thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let echoed = read_to_close(&mut client);
    sending.join().expect("the sending thread failed");
    assert_eq!(echoed.len(), payload.len(), "echo of the payload cut short");
    assert!(echoed == payload, "echo of the payload differs");

    server.stop_cleanly("TERM");
}

#[test]
fn echo_round_trip_sync() {
    echo_round_trip("sync");
}

#[test]
fn echo_round_trip_threading() {
    echo_round_trip("threading");
}

#[test]
fn echo_round_trip_forking() {
    echo_round_trip("forking");
}

/// Lines round trip through the upper server, in `mode`.
fn upper_round_trip(mode: &str) {
    let mut server = Server::start("upper", mode, &[]);
    let mut client = server.connect();
    // Several lines in one write.
    exchange(
        &mut client,
        b"hello world\nfoo Bar 42\n\n",
        b"HELLO WORLD\nFOO BAR 42\n\n",
    );
    // A line in two writes.
    client.write_all(b"spl").unwrap();
    exchange(&mut client, b"it line\n", b"SPLIT LINE\n");
    // Only ASCII letters change: UTF-8, invalid UTF-8 and `\r` come back as sent.
    exchange(
        &mut client,
        "héllo ß \u{e9}t\u{e9}\r\n".as_bytes(),
        "HéLLO ß \u{e9}T\u{e9}\r\n".as_bytes(),
    );
    exchange(&mut client, b"a\xff\xfeb\n", b"A\xff\xfeB\n");
    // A last line without `\n` is sent when the client ends its input.
    client.write_all(b"last line").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_close(&mut client), b"LAST LINE");

    server.stop_cleanly("TERM");
}

#[test]
fn upper_round_trip_sync() {
    upper_round_trip("sync");
}

#[test]
fn upper_round_trip_threading() {
    upper_round_trip("threading");
}

#[test]
fn upper_round_trip_forking() {
    upper_round_trip("forking");
}

/// SIGTERM stops each example cleanly in `mode` while a client that has been
/// served stays connected and silent; the client then sees the connection close.
fn sigterm_with_idle_client(mode: &str) {
    for (name, request, reply) in [
        ("echo", b"ping\n", b"ping\n"),
        ("upper", b"ping\n", b"PING\n"),
    ] {
        let mut server = Server::start(name, mode, &[]);
        let mut client = server.connect();
        // Served: its handler is running, and waits for more.
        exchange(&mut client, request, reply);
        let asked = Instant::now();
        server.stop_cleanly("TERM");
        // Closing waits `shutdown_timeout` for the idle client, then shuts its
        // connection down; without that it would wait for ever.
        let took = asked.elapsed();
        assert!(
            took < SHUTDOWN_TIMEOUT + MARGIN,
            "{name} --mode {mode} took {took:?} to exit"
        );
        assert_eq!(read_to_close(&mut client), b"", "{name}: unexpected bytes");
    }
}

#[test]
fn sigterm_with_idle_client_sync() {
    sigterm_with_idle_client("sync");
}

#[test]
fn sigterm_with_idle_client_threading() {
    sigterm_with_idle_client("threading");
}

#[test]
fn sigterm_with_idle_client_forking() {
    sigterm_with_idle_client("forking");
}

#[test]
fn sigterm_with_idle_client_pool() {
    sigterm_with_idle_client("pool");
}

#[test]
fn echo_round_trip_event() {
    echo_round_trip_of("echo", "event");
}

/// Under `--mode event`, a closing server closes an idle connection at once
/// (nothing is queued for it).
#[test]
fn sigterm_with_idle_client_event() {
    let mut server = Server::start("echo", "event", &[]);
    let mut client = server.connect();
    exchange(&mut client, b"ping\n", b"ping\n");
    let asked = Instant::now();
    server.stop_cleanly("TERM");
    let took = asked.elapsed();
    assert!(
        took < SHUTDOWN_TIMEOUT + MARGIN,
        "echo --mode event took {took:?} to exit"
    );
    assert_eq!(read_to_close(&mut client), b"", "unexpected bytes");
}

/// An example whose handler reads its input itself says why it has no
/// event mode, and fails.
#[test]
fn a_stream_request_example_refuses_event_mode() {
    for name in ["upper", "raw_runtime"] {
        let (status, _, stderr) = run_to_end(name, &["--addr", "127.0.0.1:0", "--mode", "event"]);
        assert!(!status.success(), "{name} --mode event started");
        assert!(stderr.contains("buffer-shaped"), "{name}: {stderr}");
    }
}

/// Reads one line from a chat client.
fn chat_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .expect("a line from the chat server");
    line
}

/// Three chat clients see each other's lines, renames, joins and leaves, in
/// the format of DESIGN.md, with the handler written once.
fn chat(mode: &str) {
    let mut server = Server::start("chat", mode, &[]);
    let mut clients: Vec<(TcpStream, BufReader<TcpStream>)> = Vec::new();
    for n in 1..=3 {
        let client = server.connect();
        let mut reader = BufReader::new(client.try_clone().unwrap());
        assert_eq!(
            chat_line(&mut reader),
            format!("welcome guest{n}\n"),
            "{mode}"
        );
        for (_, earlier) in &mut clients {
            assert_eq!(chat_line(earlier), format!("* guest{n} joined\n"), "{mode}");
        }
        clients.push((client, reader));
    }
    clients[0].0.write_all(b"hello, all\n").unwrap();
    for i in [1, 2] {
        assert_eq!(
            chat_line(&mut clients[i].1),
            "guest1: hello, all\n",
            "{mode}"
        );
    }
    clients[1].0.write_all(b"/nick bob\nhi\n").unwrap();
    for i in [0, 2] {
        assert_eq!(chat_line(&mut clients[i].1), "bob: hi\n", "{mode}");
    }
    // No escape sequence reaches the others' terminals.
    clients[1].0.write_all(b"\x1b[2Jgone\tred\r\n").unwrap();
    for i in [0, 2] {
        assert_eq!(
            chat_line(&mut clients[i].1),
            "bob: \u{FFFD}[2Jgone\tred\n",
            "{mode}"
        );
    }
    clients[2].0.write_all(b"/nick not a name\n").unwrap();
    assert!(
        chat_line(&mut clients[2].1).starts_with("* a name is"),
        "{mode}"
    );
    // The third leaves: the others are told, and nothing else came to them
    // (not their own lines).
    let (third, _) = clients.pop().unwrap();
    drop(third);
    for (_, reader) in &mut clients {
        assert_eq!(chat_line(reader), "* guest3 left\n", "{mode}");
    }
    clients[0].0.write_all(b"still here\n").unwrap();
    assert_eq!(
        chat_line(&mut clients[1].1),
        "guest1: still here\n",
        "{mode}"
    );
    server.stop_cleanly("TERM");
}

/// How long a test waits through a server's wait for a client that takes
/// nothing (5 s): with room for a machine busy with other tests.
const STALL: Duration = Duration::from_secs(120);

/// Under `threading`, a client that reads nothing holds nobody: once it has
/// taken nothing for 5 s it is closed, and the others' lines all arrive.
#[test]
fn chat_threading_survives_a_client_that_reads_nothing() {
    let mut server = Server::start("chat", "threading", &[]);
    let join = |server: &Server| {
        let client = server.connect();
        let mut reader = BufReader::new(client.try_clone().unwrap());
        assert!(chat_line(&mut reader).starts_with("welcome "));
        (client, reader)
    };
    let (_lazy, _) = join(&server);
    let (mut sender, _) = join(&server);
    let (receiver, mut received) = join(&server);
    // The lines stop while the server waits for the lazy client (5 s, more
    // if its system takes some of them meanwhile, and more on a busy
    // machine): no timeout of the test's may be near that.
    for stream in [&sender, &receiver] {
        stream.set_read_timeout(Some(STALL)).unwrap();
        stream.set_write_timeout(Some(STALL)).unwrap();
    }
    let lines = 16_000; // 16 MB: more than the buffers towards the lazy client hold
    let reading = thread::spawn(move || {
        let mut got = 0;
        while got < lines {
            let line = chat_line(&mut received);
            if line.starts_with("* ") {
                continue;
            }
            assert_eq!(line.len(), "guest2: ".len() + 1000, "line {got}");
            got += 1;
        }
        got
    });
    let line = [vec![b'y'; 999], b"\n".to_vec()].concat();
    for _ in 0..lines {
        sender.write_all(&line).unwrap();
    }
    assert_eq!(reading.join().unwrap(), lines);
    let (_newcomer, _) = join(&server);
    server.stop_cleanly("TERM");
}

#[test]
fn chat_threading() {
    chat("threading");
}

#[test]
fn chat_event() {
    chat("event");
}

#[test]
fn chat_pool() {
    chat("pool");
}

#[test]
fn chat_refuses_the_modes_it_cannot_chat_in() {
    for mode in ["sync", "forking"] {
        let (status, _, stderr) = run_to_end("chat", &["--addr", "127.0.0.1:0", "--mode", mode]);
        assert!(!status.success(), "chat --mode {mode} started");
        assert!(stderr.contains("threading"), "{mode}: {stderr}");
    }
}

#[test]
fn sigint_stops_cleanly() {
    for name in EXAMPLES {
        for mode in MODES {
            let mut server = Server::start(name, mode, &[]);
            server.stop_cleanly("INT");
        }
    }
}

#[test]
fn sigint_with_idle_client_stops_cleanly() {
    let mut server = Server::start("echo", "threading", &[]);
    let mut client = server.connect();
    exchange(&mut client, b"x", b"x");
    server.stop_cleanly("INT");
}

#[test]
fn threading_serves_two_clients_at_once() {
    for (name, reply_a, reply_b) in [("echo", b"a\n", b"b\n"), ("upper", b"A\n", b"B\n")] {
        let mut server = Server::start(name, "threading", &[]);
        let mut first = server.connect();
        exchange(&mut first, b"a\n", reply_a);
        // The first client stays connected while the second is served.
        let mut second = server.connect();
        exchange(&mut second, b"b\n", reply_b);
        exchange(&mut first, b"a\n", reply_a);
        exchange(&mut second, b"b\n", reply_b);
        first.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_to_close(&mut first), b"");
        exchange(&mut second, b"b\n", reply_b);
        drop(second);
        server.stop_cleanly("TERM");
    }
}

#[test]
fn timeout_closes_a_silent_client() {
    for mode in ALL_MODES {
        let mut server = Server::start("echo", mode, &["--timeout", "0.2"]);
        let mut client = server.connect();
        exchange(&mut client, b"hi", b"hi");
        // Silent from now on: the server gives up on it and closes.
        assert_eq!(read_to_close(&mut client), b"", "{mode}: unexpected bytes");
        // And goes on serving.
        let mut next = server.connect();
        exchange(&mut next, b"again", b"again");
        drop(next);
        server.stop_cleanly("TERM");
    }
}

/// Datagrams round trip through `udp_echo` in every mode, a datagram longer
/// than `--max-packet-size` comes back cut, and SIGTERM stops it cleanly.
#[test]
fn udp_echo_round_trip() {
    for mode in ALL_MODES {
        let mut server = Server::start("udp_echo", mode, &["--max-packet-size", "100"]);
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        client.connect(server.addr).unwrap();
        let mut reply = [0; 1000];
        for datagram in [&b"ping"[..], b"pong\n", &[7; 100]] {
            client.send(datagram).unwrap();
            let n = client.recv(&mut reply).expect("an echo");
            assert_eq!(&reply[..n], datagram, "udp_echo --mode {mode}");
        }
        client.send(&[9; 300]).unwrap();
        let n = client.recv(&mut reply).expect("an echo");
        assert_eq!(&reply[..n], &[9; 100][..], "udp_echo --mode {mode}");
        server.wait_for_line("longer than `max_packet_size`");
        server.stop_cleanly("TERM");
    }
}

/// A directory for a test's files (sockets, uploads, scripts), removed when
/// dropped, even when the test fails.
struct TestDir(PathBuf);

impl TestDir {
    fn new(test: &str) -> TestDir {
        let path =
            std::env::temp_dir().join(format!("socketserver-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TestDir(path)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `unix_echo` on `path` in `mode` and waits until it listens.
fn start_unix_echo(path: &Path, mode: &str) -> Server {
    let mut command = Command::new(example("unix_echo"));
    command.arg("--path").arg(path).args(["--mode", mode]);
    Server::start_command(command)
}

/// A client of `unix_echo` at `path`, with timeouts on reads and writes.
fn connect_unix(path: &Path) -> std::os::unix::net::UnixStream {
    let stream = std::os::unix::net::UnixStream::connect(path)
        .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", path.display()));
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

#[test]
fn unix_echo_help_describes_the_path_and_the_protocol() {
    let (status, stdout, stderr) = run_to_end("unix_echo", &["--help"]);
    assert!(
        status.success(),
        "unix_echo --help: {status}; stderr:\n{stderr}"
    );
    for word in [
        "--path",
        "--mode",
        "--timeout",
        "sync",
        "threading",
        "/tmp/socketserver-unix-echo.sock",
        "echo",
        "stale",
    ] {
        assert!(
            stdout.contains(word),
            "unix_echo --help does not mention {word:?}:\n{stdout}"
        );
    }
}

/// Bytes round trip through `unix_echo` in every mode; SIGTERM stops it
/// cleanly, and its socket file is gone afterwards.
#[test]
fn unix_echo_round_trip() {
    let dir = TestDir::new("round-trip");
    for mode in ALL_MODES {
        let path = dir.0.join(format!("{mode}.sock"));
        let mut server = start_unix_echo(&path, mode);
        let mut client = connect_unix(&path);
        let binary = [0xff, 0xfe, 0x00, 0x80, b'\n', 0xc3];
        for request in [&b"hello\n"[..], &binary] {
            client.write_all(request).expect("cannot send");
            let mut got = vec![0; request.len()];
            client.read_exact(&mut got).expect("no full reply");
            assert_eq!(got, request, "unix_echo --mode {mode}");
        }
        client.write_all(b"last").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).expect("the server closes");
        assert_eq!(rest, b"last", "unix_echo --mode {mode}");
        server.stop_cleanly("TERM");
        assert!(
            !path.exists(),
            "unix_echo --mode {mode} left {}",
            path.display()
        );
    }
}

/// SIGTERM with an idle client still connected: the server stops within its
/// shutdown timeout, exits 0, and removes its socket file.
#[test]
fn unix_echo_sigterm_with_idle_client() {
    let dir = TestDir::new("sigterm");
    let path = dir.0.join("echo.sock");
    let mut server = start_unix_echo(&path, "threading");
    let mut client = connect_unix(&path);
    client.write_all(b"x").unwrap();
    let mut got = [0; 1];
    client.read_exact(&mut got).unwrap();
    let asked = Instant::now();
    server.stop_cleanly("TERM");
    assert!(asked.elapsed() < SHUTDOWN_TIMEOUT + MARGIN);
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest);
    assert!(rest.is_empty());
    assert!(!path.exists());
}

/// A second server on a live server's path is refused (exit status 1, the
/// path in its message) and the first goes on serving; a stale socket file,
/// left by a server that was killed, is replaced.
#[test]
fn unix_echo_refuses_a_live_path_and_replaces_a_stale_one() {
    let dir = TestDir::new("paths");
    let path = dir.0.join("echo.sock");
    let path_arg = path.to_str().unwrap();
    let mut first = start_unix_echo(&path, "threading");
    let (status, _, stderr) = run_to_end("unix_echo", &["--path", path_arg]);
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains(path_arg), "{stderr}");
    assert!(stderr.contains("a server is listening there"), "{stderr}");
    let mut client = connect_unix(&path);
    client.write_all(b"still here").unwrap();
    let mut got = [0; 10];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"still here");
    drop(client);

    // SIGKILL: no chance to remove the file, which is left, stale.
    let status = first.stop("KILL");
    assert!(!status.success());
    assert!(path.exists(), "a killed server cannot remove its file");
    let mut second = start_unix_echo(&path, "sync");
    let mut client = connect_unix(&path);
    client.write_all(b"new").unwrap();
    let mut got = [0; 3];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"new");
    drop(client);
    second.stop_cleanly("TERM");
    assert!(!path.exists());
}

/// The files `upload` left in `dir`, by name, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Sends one request line (and `body`) to `upload`, reads the reply line.
fn upload_request(stream: &mut TcpStream, line: &[u8], body: &[u8]) -> String {
    stream.write_all(line).unwrap();
    stream.write_all(body).unwrap();
    let mut reply = Vec::new();
    let mut byte = [0];
    while reply.last() != Some(&b'\n') {
        match stream.read(&mut byte) {
            Ok(1) => reply.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// `upload`: round trips, refused names, a transfer cut short, the size
/// limit and concurrent uploads, in `mode`.
fn upload(mode: &str) {
    let dir = TestDir::new(&format!("upload-{mode}"));
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let mut server = Server::start(
        "upload",
        mode,
        &["--dir", &dir_arg, "--max-size", "1000000"],
    );

    // A round trip, an empty file, and a `get` of what is not there, which
    // leaves the connection open.
    let mut client = server.connect();
    assert_eq!(
        upload_request(&mut client, b"put hello.txt 5\n", b"hello"),
        "ok 5\n"
    );
    assert_eq!(upload_request(&mut client, b"put empty 0\n", b""), "ok 0\n");
    assert_eq!(
        upload_request(&mut client, b"get hello.txt\n", b""),
        "ok 5\n"
    );
    let mut body = [0; 5];
    client.read_exact(&mut body).unwrap();
    assert_eq!(&body, b"hello");
    assert!(upload_request(&mut client, b"get missing\n", b"").starts_with("error "));
    assert_eq!(upload_request(&mut client, b"get empty\n", b""), "ok 0\n");
    drop(client);

    // Refused names: `error`, then the connection closes unread.
    let long = "x".repeat(256);
    for name in [
        "../escape",
        "a/b",
        "a\\b",
        ".hidden",
        "a..b",
        long.as_str(),
        "nul\0byte",
    ] {
        let mut client = server.connect();
        let line = format!("put {name} 3\n");
        let reply = upload_request(&mut client, line.as_bytes(), b"abc");
        assert!(reply.starts_with("error refused"), "{name:?}: {reply:?}");
        assert_eq!(read_to_close(&mut client), b"", "{name:?}");
    }
    // Over the limit: refused before a byte is written.
    let mut client = server.connect();
    let reply = upload_request(&mut client, b"put big 2000000\n", b"");
    assert!(reply.starts_with("error "), "{reply:?}");
    assert_eq!(read_to_close(&mut client), b"");

    // Cut short: nothing is left behind, not even the temporary file.
    let mut client = server.connect();
    client.write_all(b"put cut.bin 100000\n").unwrap();
    client.write_all(&[7; 30_000]).unwrap();
    drop(client);
    let deadline = Instant::now() + IO_TIMEOUT;
    while files_in(&dir.0) != ["empty", "hello.txt"] {
        assert!(
            Instant::now() < deadline,
            "left behind: {:?}",
            files_in(&dir.0)
        );
        thread::sleep(POLL);
    }

    // Four at once, each its own bytes.
    let uploads: Vec<_> = (0..4u8)
        .map(|i| {
            let mut client = server.connect();
            thread::spawn(move || {
                let bytes: Vec<u8> = (0..300_000u32).map(|j| (j % 251) as u8 ^ i).collect();
                let line = format!("put file{i}.bin {}\n", bytes.len());
                assert_eq!(
                    upload_request(&mut client, line.as_bytes(), &bytes),
                    format!("ok {}\n", bytes.len())
                );
                bytes
            })
        })
        .collect();
    for (i, upload) in uploads.into_iter().enumerate() {
        let sent = upload.join().expect("an upload failed");
        let mut client = server.connect();
        let line = format!("get file{i}.bin\n");
        assert_eq!(
            upload_request(&mut client, line.as_bytes(), b""),
            format!("ok {}\n", sent.len())
        );
        let mut got = vec![0; sent.len()];
        client.read_exact(&mut got).unwrap();
        assert!(got == sent, "file{i}.bin differs");
    }
    assert_eq!(
        files_in(&dir.0),
        [
            "empty",
            "file0.bin",
            "file1.bin",
            "file2.bin",
            "file3.bin",
            "hello.txt"
        ]
    );
    server.stop_cleanly("TERM");
}

#[test]
fn upload_threading() {
    upload("threading");
}

#[test]
fn upload_event() {
    upload("event");
}

/// The most resident memory process `pid` has had, in MiB (`VmHWM`).
fn peak_memory_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .expect("a VmHWM line")
        / 1024
}

/// Pipelined `get`s of a large file, the replies read only after all were
/// sent: each arrives whole, and the server never held the file in memory.
fn upload_streams_pipelined_gets(mode: &str) {
    let dir = TestDir::new(&format!("upload-gets-{mode}"));
    let size = 8 << 20;
    let contents: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.0.join("big"), &contents).unwrap();
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let mut server = Server::start("upload", mode, &["--dir", &dir_arg]);
    let mut client = server.connect();
    let gets = 20;
    client.write_all(&b"get big\n".repeat(gets)).unwrap();
    let mut got = vec![0; size];
    for i in 0..gets {
        assert_eq!(
            upload_request(&mut client, b"", b""),
            format!("ok {size}\n")
        );
        client.read_exact(&mut got).unwrap();
        assert!(got == contents, "get {i} differs");
    }
    // 160 MiB went out; a copy of the file per request would be that much.
    let peak = peak_memory_mib(server.process.child.id());
    assert!(peak < 64, "the server held {peak} MiB at its peak");
    drop(client);
    server.stop_cleanly("TERM");
}

#[test]
fn upload_streams_pipelined_gets_threading() {
    upload_streams_pipelined_gets("threading");
}

#[test]
fn upload_streams_pipelined_gets_event() {
    upload_streams_pipelined_gets("event");
}

/// What cannot be stored is answered with `error`; a name that is not UTF-8
/// is refused, not stored under a name two requests could share.
#[test]
fn upload_answers_what_it_cannot_store() {
    let dir = TestDir::new("upload-cannot-store");
    std::fs::create_dir(dir.0.join("sub")).unwrap();
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let mut server = Server::start("upload", "threading", &["--dir", &dir_arg]);
    let mut client = server.connect();
    let reply = upload_request(&mut client, b"put sub 3\n", b"abc");
    assert!(reply.starts_with("error cannot store sub: "), "{reply:?}");
    assert_eq!(read_to_close(&mut client), b"");
    for line in [&b"put \xff 3\n"[..], b"get \xfe\n"] {
        let mut client = server.connect();
        let reply = upload_request(&mut client, line, b"");
        assert!(reply.starts_with("error "), "{line:?}: {reply:?}");
        assert_eq!(read_to_close(&mut client), b"");
    }
    assert_eq!(files_in(&dir.0), ["sub"]);
    server.stop_cleanly("TERM");
}

/// Under `--mode forking` a stop ends the children, cleaning nothing up:
/// the server removes the temporary files they left once it has stopped.
#[test]
fn upload_forking_stopped_mid_transfer_leaves_no_temporary() {
    let dir = TestDir::new("upload-forking-stop");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let mut server = Server::start("upload", "forking", &["--dir", &dir_arg]);
    let mut client = server.connect();
    client.write_all(b"put cut.bin 100000\n").unwrap();
    client.write_all(&[7; 30_000]).unwrap();
    let deadline = Instant::now() + IO_TIMEOUT;
    while files_in(&dir.0).is_empty() {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        thread::sleep(POLL);
    }
    server.stop_cleanly("TERM");
    drop(client);
    assert_eq!(files_in(&dir.0), Vec::<String>::new(), "left behind");
}

/// A temporary file of a server that died is removed at the next start; one
/// of a server still running is not.
#[test]
fn upload_removes_what_a_dead_server_left() {
    let dir = TestDir::new("upload-dead-server");
    // A process that has ended: a child of this test, reaped.
    let mut dead = Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    let dead = format!(".upload-{}-{}-0.part", dead.id(), dead.id());
    let alive = format!(
        ".upload-{}-{}-0.part",
        std::process::id(),
        std::process::id()
    );
    std::fs::write(dir.0.join(&dead), b"half").unwrap();
    std::fs::write(dir.0.join(&alive), b"half").unwrap();
    let dir_arg = dir.0.to_string_lossy().into_owned();
    let mut server = Server::start("upload", "threading", &["--dir", &dir_arg]);
    assert_eq!(files_in(&dir.0), [alive]);
    server.stop_cleanly("TERM");
}

/// Sends a command frame to `command` and reads its reply frame.
fn command_request(stream: &mut TcpStream, line: &str) -> String {
    let length = u32::try_from(line.len()).unwrap().to_be_bytes();
    stream.write_all(&length).unwrap();
    stream.write_all(line.as_bytes()).unwrap();
    let mut length = [0; 4];
    stream.read_exact(&mut length).expect("a reply frame");
    let mut reply = vec![0; u32::from_be_bytes(length) as usize];
    stream
        .read_exact(&mut reply)
        .expect("the whole reply frame");
    String::from_utf8_lossy(&reply).into_owned()
}

/// `command`: an allowed program, refused ones, one not found, one killed at
/// the time limit, and output over the cap.
#[test]
fn command_runs_only_what_is_allowed_within_its_limits() {
    let mut server = Server::start_with(
        "command",
        &[
            "--allow",
            "echo,sleep,seq,no-such-program-here",
            "--timeout",
            "0.5",
            "--max-output",
            "100",
        ],
    );
    let mut client = server.connect();
    assert_eq!(
        command_request(&mut client, "echo hello  world"),
        "0\nhello world\n"
    );
    for refused in ["rm -rf /tmp/x", "/bin/echo hi", "", "ls"] {
        let reply = command_request(&mut client, refused);
        assert!(
            reply.starts_with("126\nrefused: "),
            "{refused:?}: {reply:?}"
        );
    }
    let reply = command_request(&mut client, "no-such-program-here");
    assert!(reply.starts_with("127\n"), "{reply:?}");
    let reply = command_request(&mut client, "sleep 60");
    assert!(reply.starts_with("124\n"), "{reply:?}");
    assert!(
        reply.trim_end().ends_with("[killed after 500ms]"),
        "{reply:?}"
    );
    let reply = command_request(&mut client, "seq 1 100000");
    assert!(reply.starts_with("0\n1\n2\n3\n"), "{reply:?}");
    let last = reply.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("[output cut: 588895 bytes"), "{last:?}");
    // A command that fails says so with its exit code.
    let reply = command_request(&mut client, "seq x");
    assert!(reply.starts_with("1\n"), "{reply:?}");
    drop(client);
    server.stop_cleanly("TERM");
}

/// Runs `command` with a 0.5 s time limit and one allowed program,
/// `script` (a shell script that starts `sleep 300` and writes its process id
/// to the file `$1`), and returns the reply, once that `sleep` is gone: killed
/// with the program, whichever way the program ended.
fn command_descendant_is_killed(script: &str) -> String {
    use std::os::unix::fs::PermissionsExt;

    let dir = TestDir::new("descendants");
    let program = dir.0.join("spawner");
    let pid_file = dir.0.join("descendant");
    std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(std::iter::once(dir.0.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut command = Command::new(example("command"));
    command
        .args([
            "--addr",
            "127.0.0.1:0",
            "--allow",
            "spawner",
            "--timeout",
            "0.5",
        ])
        .env("PATH", path);
    let mut server = Server::start_command(command);
    let mut client = server.connect();
    let reply = command_request(&mut client, &format!("spawner {}", pid_file.display()));
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("spawner wrote no process id; the reply: {reply:?}"));
    // Killed with the program: gone, or a zombie until whoever adopted it
    // reaps it.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            state != Some(Some('Z'))
        })
    };
    let deadline = Instant::now() + EXIT;
    while running() && Instant::now() < deadline {
        thread::sleep(POLL);
    }
    if running() {
        // Ours to stop, as the server did not.
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        panic!("the descendant {pid} outlived the program; the reply: {reply:?}");
    }
    drop(client);
    server.stop_cleanly("TERM");
    reply
}

/// A program that waits for what it started is killed at the time limit,
/// with it.
#[test]
fn command_kills_the_programs_descendants_at_the_time_limit() {
    let reply = command_descendant_is_killed(
        "sleep 300 &\necho $! > \"$1.new\"\nmv \"$1.new\" \"$1\"\nwait",
    );
    assert!(reply.starts_with("124\n"), "{reply:?}");
    assert!(
        reply.trim_end().ends_with("[killed after 500ms]"),
        "{reply:?}"
    );
}

/// A program that ends at once, leaving what it started running (its output
/// closed): that is killed when it ends, not left behind.
#[test]
fn command_kills_what_the_program_left_running() {
    let reply = command_descendant_is_killed(
        "sleep 300 >/dev/null 2>&1 &\necho $! > \"$1.new\"\nmv \"$1.new\" \"$1\"\necho started",
    );
    assert_eq!(reply, "0\nstarted\n");
}

/// SIGTERM while a program runs: the program is killed, its reply says so,
/// and the server stops within its shutdown time, not the program's limit.
#[test]
fn command_stops_promptly_while_a_program_runs() {
    let mut server = Server::start_with("command", &["--allow", "sleep", "--timeout", "300"]);
    let mut client = server.connect();
    let line = "sleep 250";
    client
        .write_all(&u32::try_from(line.len()).unwrap().to_be_bytes())
        .unwrap();
    client.write_all(line.as_bytes()).unwrap();
    server.wait_for_line("running \"sleep 250\"");
    let asked = Instant::now();
    server.stop_cleanly("TERM");
    let took = asked.elapsed();
    assert!(took < SHUTDOWN_TIMEOUT + MARGIN, "SIGTERM took {took:?}");
    let mut length = [0; 4];
    client.read_exact(&mut length).expect("a reply frame");
    let mut reply = vec![0; u32::from_be_bytes(length) as usize];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "137\n\n[killed: the server is stopping]\n"
    );
}

/// Pipelined requests whose replies are read only after all were sent: the
/// server holds one reply at a time, not one per request.
#[test]
fn command_holds_one_reply_at_a_time() {
    let mut server = Server::start_with("command", &["--allow", "echo,seq"]);
    let mut client = server.connect();
    let mut batch = Vec::new();
    let mut frame = |line: &str| {
        batch.extend_from_slice(&u32::try_from(line.len()).unwrap().to_be_bytes());
        batch.extend_from_slice(line.as_bytes());
    };
    // A long frame first, so that the server reads the rest in one go.
    frame(&format!("echo {}", "a".repeat(60_000)));
    let requests = 100;
    for _ in 0..requests {
        frame("seq 1 200000");
    }
    client.write_all(&batch).unwrap();
    for i in 0..=requests {
        let mut length = [0; 4];
        client.read_exact(&mut length).expect("a reply frame");
        let mut reply = vec![0; u32::from_be_bytes(length) as usize];
        client.read_exact(&mut reply).unwrap();
        assert!(reply.starts_with(b"0\n"), "reply {i}");
    }
    // 100 replies of 1 MiB each (the output cap) went out.
    let peak = peak_memory_mib(server.process.child.id());
    assert!(peak < 48, "the server held {peak} MiB at its peak");
    drop(client);
    server.stop_cleanly("TERM");
}

/// Runs `curl` with `args`: its exit status, standard output and error.
fn curl(args: &[&str]) -> (ExitStatus, String, String) {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run curl (on Debian: apt-get install curl; .ci/run installs it)");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `http_hello` in `mode`: curl's requests over one kept-alive connection,
/// pipelined requests answered in order, and a malformed one refused.
fn http_hello(mode: &str) {
    let mut server = Server::start("http_hello", mode, &[]);
    let url = format!("http://{}/", server.addr);
    let (status, body, log) = curl(&["--verbose", &url, &format!("{url}again")]);
    assert!(status.success(), "{mode}: curl failed: {log}");
    assert!(
        body.starts_with("Hello, World!Hello, World!"),
        "{mode}: {body:?}"
    );
    assert!(
        log.contains("Re-using existing connection"),
        "{mode}: not kept alive:\n{log}"
    );

    // Three requests in one write: three answers, in order; the last one
    // (HTTP/1.0 without keep-alive) closes.
    let mut client = server.connect();
    client
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
              GET / HTTP/1.0\r\n\r\n",
        )
        .unwrap();
    let replies = String::from_utf8(read_to_close(&mut client)).unwrap();
    assert_eq!(
        replies.matches("HTTP/1.1 200 OK\r\n").count(),
        3,
        "{mode}: {replies:?}"
    );
    assert_eq!(
        replies.matches("Hello, World!").count(),
        3,
        "{mode}: {replies:?}"
    );
    assert!(
        replies.ends_with("Connection: close\r\n\r\nHello, World!"),
        "{mode}: {replies:?}"
    );

    // Malformed, or what this server does not do: the status, then the
    // connection closes.
    let over = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    );
    for (request, status) in [
        (&b"GARBAGE\r\n\r\n"[..], "400 Bad Request"),
        (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", "400 Bad Request"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
            "400 Bad Request",
        ),
        // RFC 9112: one Host, required in HTTP/1.1.
        (b"GET / HTTP/1.1\r\n\r\n", "400 Bad Request"),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "400 Bad Request",
        ),
        // A Content-Length that could let a body pass for the next request.
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nhello",
            "400 Bad Request",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
            "400 Bad Request",
        ),
        (over.as_bytes(), "413 Content Too Large"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n",
            "417 Expectation Failed",
        ),
        (
            b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
            "501 Not Implemented",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            "501 Not Implemented",
        ),
    ] {
        let mut client = server.connect();
        client.write_all(request).unwrap();
        let reply = String::from_utf8(read_to_close(&mut client)).unwrap();
        assert!(
            reply.starts_with(&format!("HTTP/1.1 {status}\r\nDate: ")),
            "{mode}: {:?}: {reply:?}",
            String::from_utf8_lossy(request)
        );
    }

    // Lines that end with LF alone, and an empty line first, are fine; an
    // HTTP/1.0 connection kept open says so.
    let mut client = server.connect();
    client
        .write_all(
            b"\r\nGET / HTTP/1.1\nHost: x\n\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        )
        .unwrap();
    let mut reply = vec![0; 2 * 115 + "Connection: keep-alive\r\n".len()];
    client.read_exact(&mut reply).unwrap();
    let reply = String::from_utf8(reply).unwrap();
    assert_eq!(
        reply.matches("HTTP/1.1 200 OK\r\n").count(),
        2,
        "{mode}: {reply:?}"
    );
    assert!(
        reply.ends_with("Connection: keep-alive\r\n\r\nHello, World!"),
        "{mode}: {reply:?}"
    );

    // `Expect: 100-continue`: told to go on before the body is sent.
    let mut client = server.connect();
    client
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    let mut reply = [0; 25];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"HTTP/1.1 100 Continue\r\n\r\n", "{mode}");
    client.write_all(b"hello").unwrap();
    let mut reply = [0; 17];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"HTTP/1.1 200 OK\r\n", "{mode}");
    server.stop_cleanly("TERM");
}

#[test]
fn http_hello_threading() {
    http_hello("threading");
}

#[test]
fn http_hello_pool() {
    http_hello("pool");
}

#[test]
fn http_hello_event() {
    http_hello("event");
}

/// `http_hello` under `wrk` for a second, in each mode a buffer-shaped
/// handler has: wrk reports every response that is not a 2xx or 3xx, and
/// every socket error (a malformed response is a read error to it).
#[test]
fn http_hello_serves_wrk_without_errors() {
    for mode in ["threading", "pool", "event"] {
        let mut server = Server::start("http_hello", mode, &[]);
        let url = format!("http://{}/", server.addr);
        // Bounded: a server that stops answering fails the test, not hangs it.
        let output = Command::new("timeout")
            .args(["60", "wrk", "-t", "1", "-c", "20", "-d", "1s", &url])
            .stdin(Stdio::null())
            .output()
            .expect("cannot run wrk (on Debian: apt-get install wrk; .ci/run installs it)");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{mode}: wrk failed:\n{text}");
        assert!(!text.contains("Socket errors"), "{mode}:\n{text}");
        assert!(!text.contains("Non-2xx"), "{mode}:\n{text}");
        let requests: u64 = text
            .lines()
            .find(|line| line.contains(" requests in "))
            .and_then(|line| line.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{mode}: no request count in:\n{text}"));
        assert!(requests > 0, "{mode}:\n{text}");
        server.stop_cleanly("TERM");
    }
}

/// Runs a Redis client tool (`redis-cli`, `redis-benchmark`): its exit
/// status and standard output and error together.
fn redis_tool(tool: &str, port: u16, args: &[&str]) -> (ExitStatus, String) {
    // Bounded: a server that stops answering fails the test, not hangs it.
    let output = Command::new("timeout")
        .args(["120", tool])
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}; on Debian: apt-get install redis-tools; .ci/run installs it)")
        });
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status, text)
}

/// `mini_redis` in `mode`, driven by the real `redis-cli` and
/// `redis-benchmark`; malformed RESP gets an error and the connection closes.
fn mini_redis(mode: &str, extra: &[&str]) {
    let mut server = Server::start("mini_redis", mode, extra);
    let port = server.addr.port();
    for (args, expected) in [
        (&["ping"][..], "PONG\n"),
        (&["set", "greeting", "hello world"], "OK\n"),
        (&["get", "greeting"], "hello world\n"),
        (&["incr", "counter"], "1\n"),
        (&["incr", "counter"], "2\n"),
        (
            &["incr", "greeting"],
            "ERR value is not an integer or out of range\n\n",
        ),
        (&["exists", "greeting", "counter", "none"], "2\n"),
        (&["del", "greeting", "counter"], "2\n"),
        (&["get", "greeting"], "\n"),
        (&["echo", "a\nb"], "a\nb\n"),
        (&["flushall"], "ERR unknown command 'flushall'\n\n"),
    ] {
        let (status, out) = redis_tool("redis-cli", port, args);
        assert!(status.success(), "{mode}: redis-cli {args:?}: {out}");
        assert_eq!(out, expected, "{mode}: redis-cli {args:?}");
    }
    // redis-benchmark's 50 clients (its default) stay open: under pool too,
    // where a connection holds a worker only while it has a request.
    for pipeline in ["1", "16"] {
        let (status, out) = redis_tool(
            "redis-benchmark",
            port,
            &[
                "-t",
                "ping,set,get",
                "-n",
                "2000",
                "-c",
                "50",
                "-P",
                pipeline,
                "-q",
            ],
        );
        assert!(status.success(), "{mode} -P {pipeline}: {out}");
        for test in ["PING_INLINE", "PING_MBULK", "SET", "GET"] {
            assert!(
                out.contains(&format!("{test}: ")),
                "{mode} -P {pipeline}: no {test}:\n{out}"
            );
        }
        assert!(
            !out.to_lowercase().contains("error"),
            "{mode} -P {pipeline}:\n{out}"
        );
    }
    for malformed in [&b"*1\r\n$x\r\n"[..], b"*1\r\n+PING\r\n", b"*99999999\r\n"] {
        let mut client = server.connect();
        client.write_all(malformed).unwrap();
        let reply = String::from_utf8(read_to_close(&mut client)).unwrap();
        assert!(
            reply.starts_with("-ERR Protocol error: "),
            "{mode}: {malformed:?}: {reply:?}"
        );
    }
    server.stop_cleanly("TERM");
}

/// `mini_redis` where RESP is at its edges, answered as Redis answers: an
/// error reply stays one line whatever the command's name holds; an inline
/// command ends with LF as `nc` sends it; a null array is nothing; many
/// arguments are fine; numbers are written one way only; a request over
/// the limit gets an error before the connection closes.
fn mini_redis_edges(mode: &str) {
    let mut server = Server::start("mini_redis", mode, &[]);
    let mut client = server.connect();
    exchange(
        &mut client,
        b"*1\r\n$10\r\nfoo\r\n:1\r\nx\r\n*1\r\n$4\r\nPING\r\n",
        b"-ERR unknown command 'foo  :1  x'\r\n+PONG\r\n",
    );
    exchange(&mut client, b"PING\n\nPING hi\n", b"+PONG\r\n$2\r\nhi\r\n");
    exchange(&mut client, b"*-1\r\n*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    let mut del = b"*2001\r\n$3\r\nDEL\r\n".to_vec();
    for i in 0..2000 {
        let key = format!("k{i}");
        del.extend_from_slice(format!("${}\r\n{key}\r\n", key.len()).as_bytes());
    }
    exchange(&mut client, &del, b":0\r\n");
    exchange(
        &mut client,
        b"SET n 9223372036854775807\r\nINCR n\r\nSET n +5\r\nINCR n\r\n",
        b"+OK\r\n-ERR increment or decrement would overflow\r\n+OK\r\n\
          -ERR value is not an integer or out of range\r\n",
    );
    for bad in [&b"*+1\r\n"[..], b"*01\r\n", b"*1\r\n$+4\r\n"] {
        let mut client = server.connect();
        client.write_all(bad).unwrap();
        let reply = read_to_close(&mut client);
        assert!(
            reply.starts_with(b"-ERR Protocol error: expected a number"),
            "{bad:?}: {:?}",
            String::from_utf8_lossy(&reply)
        );
    }
    // Two values of 9 MiB: each within the 16 MiB of a bulk string, but not
    // together.
    let mut client = server.connect();
    let big = vec![b'v'; 9 << 20];
    let mut request = format!("*3\r\n$3\r\nSET\r\n${}\r\n", big.len()).into_bytes();
    request.extend_from_slice(&big);
    request.extend_from_slice(format!("\r\n${}\r\n", big.len()).as_bytes());
    request.extend_from_slice(&big);
    request.extend_from_slice(b"\r\n");
    // The server stops reading at its limit: the rest may not go.
    let _ = client.write_all(&request);
    let reply = read_to_close(&mut client);
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "-ERR Protocol error: a request over 16 MiB\r\n"
    );
    server.stop_cleanly("TERM");
}

#[test]
fn mini_redis_edges_threading() {
    mini_redis_edges("threading");
}

#[test]
fn mini_redis_edges_event() {
    mini_redis_edges("event");
}

/// Pipelined `GET`s of a large value, the replies read only after all were
/// sent: the server queues a bounded amount of replies, not one per request.
fn mini_redis_bounds_queued_replies(mode: &str) {
    let mut server = Server::start("mini_redis", mode, &[]);
    let mut client = server.connect();
    let value = vec![b'v'; 4 << 20];
    let mut set = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", value.len()).into_bytes();
    set.extend_from_slice(&value);
    set.extend_from_slice(b"\r\n");
    exchange(&mut client, &set, b"+OK\r\n");
    let gets = 40;
    client
        .write_all(&b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(gets))
        .unwrap();
    let header = format!("${}\r\n", value.len());
    let mut reply = vec![0; header.len() + value.len() + 2];
    for i in 0..gets {
        client.read_exact(&mut reply).unwrap();
        assert!(reply.starts_with(header.as_bytes()), "reply {i}");
        assert!(reply[header.len()..].starts_with(&value), "reply {i}");
    }
    // 160 MiB of replies went out.
    let peak = peak_memory_mib(server.process.child.id());
    assert!(peak < 64, "the server held {peak} MiB at its peak");
    drop(client);
    server.stop_cleanly("TERM");
}

#[test]
fn mini_redis_bounds_queued_replies_threading() {
    mini_redis_bounds_queued_replies("threading");
}

#[test]
fn mini_redis_bounds_queued_replies_event() {
    mini_redis_bounds_queued_replies("event");
}

#[test]
fn mini_redis_threading() {
    mini_redis("threading", &[]);
}

#[test]
fn mini_redis_pool() {
    mini_redis("pool", &[]);
}

#[test]
fn mini_redis_event() {
    mini_redis("event", &[]);
}

#[test]
fn mini_redis_event_busy_polling() {
    mini_redis("event", &["--busy-poll", "20"]);
}

/// `--busy-poll` is a setting of the event loops: another mode refuses it.
#[test]
fn busy_polling_needs_event_mode() {
    let (status, _, stderr) = run_to_end(
        "mini_redis",
        &[
            "--addr",
            "127.0.0.1:0",
            "--mode",
            "threading",
            "--busy-poll",
            "20",
        ],
    );
    assert!(!status.success(), "{status}; stderr:\n{stderr}");
    assert!(
        stderr.contains("`--busy-poll` applies to `--mode event` only"),
        "{stderr}"
    );
}

/// The examples of issue 10: `--help` says what they take, and SIGTERM stops
/// each cleanly (exit status 0) within the shutdown timeout and a margin
/// while a client is still connected and silent.
#[test]
fn the_protocol_examples_help_and_stop_cleanly_with_an_idle_client() {
    let dir = TestDir::new("idle-stop");
    let dir_arg = dir.0.to_string_lossy().into_owned();
    for (name, port, args) in [
        ("chat", "7014", &["--mode", "threading"][..]),
        ("chat", "7014", &["--mode", "event"]),
        ("upload", "7015", &["--dir", &dir_arg]),
        ("upload", "7015", &["--dir", &dir_arg, "--mode", "event"]),
        ("command", "7011", &[]),
        ("http_hello", "7012", &["--mode", "event"]),
        ("mini_redis", "7013", &["--mode", "event"]),
        ("mini_redis", "7013", &["--mode", "pool"]),
    ] {
        let (status, stdout, _) = run_to_end(name, &["--help"]);
        assert!(status.success(), "{name} --help: {status}");
        for word in ["--addr", port] {
            assert!(
                stdout.contains(word),
                "{name} --help does not mention {word:?}"
            );
        }
        let mut server = Server::start_with(name, args);
        let client = server.connect();
        let asked = Instant::now();
        server.stop_cleanly("TERM");
        let took = asked.elapsed();
        assert!(
            took < SHUTDOWN_TIMEOUT + MARGIN,
            "{name} {args:?} took {took:?} to exit"
        );
        drop(client);
    }
}
