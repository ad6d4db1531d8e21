//! The `Forking` concurrency model, Python's `ForkingMixIn`: CPython's
//! forking scenarios (`test_forking_handled` and `test_forking_not_handled`,
//! children reaped and waited for on close; the plain round trips of
//! `test_Forking*Server` run with the other models' in `cpython.rs`), a
//! process per request on every transport, the `max_children` bound,
//! `handle_request`, signals, and what closing does with children that
//! outstay `shutdown_timeout`.
//!
//! The test harness runs tests on several threads, so every fork here is made
//! by a multi-threaded process, as a user's would be. A child has copies of the
//! descriptors the process had when it was forked (other tests' sockets too),
//! so connections are ended with an explicit `shutdown`, never by dropping a
//! socket alone (a child may hold a copy of its own client's socket, and see
//! no end of input until it is shut down); every server whose children wait
//! for their client has a `timeout`, so that after a failure no child outlives
//! the test by long; and no child here logs (another thread may have held the
//! logger's lock at the fork). The scenarios that need a process of their own
//! run in one, in a process group that is killed when it ends.
//!
//! A child's state is its own: counters of the server's state kept in a child
//! are not seen by the test, so what happened in a child is read from the
//! client's side (each request first sends the id of the process serving it),
//! from files, from `/proc` and from the server's log.

use socketserver::{
    Conn, DatagramRequest, DatagramSocket, Forking, ForkingTcpServer, ForkingUdpServer,
    ForkingUnixDatagramServer, ForkingUnixStreamServer, RequestError, Server, Service, Stream,
    StreamRequest, Tcp, TcpServer, handle, handler_fn, server,
};
use socketserver_tests::gate::{Gate, assert_not_started, expect_started, release};
use socketserver_tests::{
    BOUND, TempDir, capture_logs, child_test, connect, echo, is_child_test, logged, serve,
    wait_until,
};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::{Duration, Instant};

/// CPython's `TEST_STR`.
const TEST_STR: &[u8] = b"hello world\n";

/// The id of this process: the server's, which serves no request itself.
fn me() -> u32 {
    std::process::id()
}

/// Sends the id of the process serving the request (`<pid>\n`), then echoes
/// until the client closes its side.
fn pid_echo<S: Stream>() -> impl Service<Request = StreamRequest<S>> {
    handler_fn(|req: &mut StreamRequest<S>| {
        let (mut reader, mut writer) = req.split();
        writeln!(writer, "{}", std::process::id())?;
        io::copy(&mut reader, &mut writer)?;
        Ok(())
    })
}

/// Replies to each datagram with the id of the process serving it (`<pid>\n`)
/// followed by the datagram.
fn pid_echo_datagram<D: DatagramSocket>() -> impl Service<Request = DatagramRequest<D>> {
    handler_fn(|req: &mut DatagramRequest<D>| {
        let packet = req.packet().to_vec();
        let reply = req.wfile();
        writeln!(reply, "{}", std::process::id())?;
        reply.write_all(&packet)
    })
}

/// Reads the `<pid>\n` a request sends first, one byte at a time (nothing
/// after it is consumed).
fn read_pid(stream: &mut impl Read) -> u32 {
    let mut line = Vec::new();
    let mut byte = [0];
    loop {
        stream
            .read_exact(&mut byte)
            .expect("the serving process's id");
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    let pid = String::from_utf8(line).unwrap().parse().unwrap();
    assert_ne!(pid, me(), "served in the server's own process");
    pid
}

/// Splits a datagram reply into the serving process's id and the rest.
fn split_pid(reply: &[u8]) -> (u32, &[u8]) {
    let newline = reply
        .iter()
        .position(|&b| b == b'\n')
        .expect("a `<pid>\\n`");
    let pid = std::str::from_utf8(&reply[..newline])
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(pid, me(), "served in the server's own process");
    (pid, &reply[newline + 1..])
}

/// Sends `TEST_STR`, reads it back, then ends the connection and reads until
/// the server has closed it.
fn echo_and_close<S: Read + Write>(stream: &mut S, shutdown: impl FnOnce(&S)) {
    stream.write_all(TEST_STR).unwrap();
    let mut reply = vec![0; TEST_STR.len()];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(reply, TEST_STR);
    shutdown(stream);
    assert_eq!(read_to_close(stream), b"");
}

/// Reads until the server closes the connection; a reset counts as closed.
fn read_to_close(stream: &mut impl Read) -> Vec<u8> {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server did not close the connection: {e}"),
    }
    rest
}

/// The state (`R`, `S`, `Z` for a zombie, …) and the parent of every process
/// on the system, from `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
fn processes() -> Vec<(u32, char, u32)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // Gone since the directory was read: not there.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`, where `comm` may hold spaces and `)`.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next());
        let ppid = fields.next().and_then(|p| p.parse().ok());
        if let (Some(state), Some(ppid)) = (state, ppid) {
            found.push((pid, state, ppid));
        }
    }
    found
}

/// The children of this process, running or zombies, with their state.
#[cfg(target_os = "linux")]
fn my_children() -> Vec<(u32, char)> {
    processes()
        .into_iter()
        .filter(|&(_, _, ppid)| ppid == me())
        .map(|(pid, state, _)| (pid, state))
        .collect()
}

/// Asserts that each of `pids`, children forked by a server of this process,
/// has been reaped: none is still a child of this process, running or zombie.
fn assert_reaped(pids: &[u32]) {
    #[cfg(target_os = "linux")]
    {
        let left: Vec<_> = my_children()
            .into_iter()
            .filter(|(pid, _)| pids.contains(pid))
            .collect();
        assert!(
            left.is_empty(),
            "children not reaped (pid, state): {left:?}"
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = pids;
}

/// Runs scenario `name` (a test marked `#[ignore]`) in a process of its own,
/// in a process group of its own: once it has ended (or failed to end within
/// its bound), the group is killed, so that no child its server forked is left
/// running whatever happened; then asserts that the scenario passed.
fn run_scenario(name: &str) {
    let dir = TempDir::new();
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    let mut scenario = child_test(name)
        .process_group(0)
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let group = format!("-{}", scenario.id());
    let deadline = Instant::now() + 3 * BOUND;
    let status = loop {
        if let Some(status) = scenario.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    // Fails when nothing is left in the group, as it should be.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = scenario.wait();
    let output = format!(
        "{}\n{}",
        fs::read_to_string(&stdout).unwrap(),
        fs::read_to_string(&stderr).unwrap()
    );
    fs::remove_file(&stdout).unwrap();
    fs::remove_file(&stderr).unwrap();
    match status {
        Some(status) => assert!(status.success(), "{name} failed ({status}):\n{output}"),
        None => panic!("{name} still running after {:?}:\n{output}", 3 * BOUND),
    }
}

/// Several clients at once, each served by a process of its own (CPython's
/// `test_ForkingTCPServer`, whose plain round trip runs in `cpython.rs`);
/// once the server is closed, every child is reaped.
#[test]
fn each_tcp_connection_is_served_in_a_process_of_its_own() {
    let server = ForkingTcpServer::builder(pid_echo())
        .timeout(Some(BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    // All connected at once: each is served while the others wait.
    let mut clients: Vec<_> = (0..5).map(|_| connect(running.addr())).collect();
    let mut pids: Vec<u32> = clients.iter_mut().map(read_pid).collect();
    for client in &mut clients {
        echo_and_close(client, |c| c.shutdown(Shutdown::Write).unwrap());
    }
    running.stop().unwrap();
    assert_reaped(&pids);
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 5, "a process per connection");
}

/// A buffer-shaped handler (`Conn`) runs in the child too: called as input
/// comes, its state kept for the connection, its last reply sent at the end
/// of input.
#[test]
fn a_buffer_handler_is_served_in_a_process_of_its_own() {
    let numbered = handler_fn(|conn: &mut Conn<u32>| {
        let (input, output, count) = conn.parts();
        while let Some(line) = input.line(64)? {
            *count += 1;
            write!(output, "{count} ")?;
            output.write_all(line)?;
        }
        Ok(())
    });
    let server = Server::<Tcp, Forking, _>::builder(numbered)
        .timeout(Some(BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut client = connect(running.addr());
    client.write_all(b"a\nb\nlast").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_close(&mut client), b"1 a\n2 b\n3 last");
    running.stop().unwrap();
}

/// Each datagram is served by a process of its own, whose reply goes out
/// through the server's socket (CPython's `test_ForkingUDPServer`).
#[test]
fn each_udp_datagram_is_served_in_a_process_of_its_own() {
    let running = serve(ForkingUdpServer::bind("127.0.0.1:0", pid_echo_datagram()).unwrap());
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.connect(running.addr()).unwrap();
    let mut pids = Vec::new();
    for _ in 0..3 {
        client.send(TEST_STR).unwrap();
        let mut reply = [0; 100];
        let n = client.recv(&mut reply).expect("a reply datagram");
        let (pid, echoed) = split_pid(&reply[..n]);
        assert_eq!(echoed, TEST_STR);
        pids.push(pid);
    }
    running.stop().unwrap();
    assert_reaped(&pids);
}

/// The same over a Unix stream socket (CPython's
/// `test_ForkingUnixStreamServer`); closing removes the socket file, which no
/// child removes.
#[test]
fn each_unix_connection_is_served_in_a_process_of_its_own() {
    let dir = TempDir::new();
    let path = dir.join("forking.sock");
    let server = ForkingUnixStreamServer::builder(pid_echo())
        .timeout(Some(BOUND))
        .bind(path.as_path())
        .unwrap();
    let running = serve(server);
    let mut pids = Vec::new();
    for _ in 0..3 {
        let mut client = UnixStream::connect(&path).unwrap();
        client.set_read_timeout(Some(BOUND)).unwrap();
        pids.push(read_pid(&mut client));
        echo_and_close(&mut client, |c| c.shutdown(Shutdown::Write).unwrap());
    }
    running.stop().unwrap();
    assert_reaped(&pids);
    assert!(!path.exists(), "the server's socket file is left");
}

/// The same over a Unix datagram socket (CPython's
/// `test_ForkingUnixDatagramServer`).
#[test]
fn each_unix_datagram_is_served_in_a_process_of_its_own() {
    let dir = TempDir::new();
    let path = dir.join("forking.sock");
    let client_path = dir.join("client.sock");
    let running = serve(
        ForkingUnixDatagramServer::bind(path.as_path(), pid_echo_datagram::<UnixDatagram>())
            .unwrap(),
    );
    // Bound to a path, so that the server can reply.
    let client = UnixDatagram::bind(&client_path).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    let mut pids = Vec::new();
    for _ in 0..3 {
        client.send_to(TEST_STR, &path).unwrap();
        let mut reply = [0; 100];
        let n = client.recv(&mut reply).expect("a reply datagram");
        let (pid, echoed) = split_pid(&reply[..n]);
        assert_eq!(echoed, TEST_STR);
        pids.push(pid);
    }
    running.stop().unwrap();
    assert_reaped(&pids);
    fs::remove_file(&client_path).unwrap();
}

#[server(transport = "tcp", concurrency = "forking", max_children = 4)]
struct TcpPid;

impl TcpPid {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        writeln!(req.wfile(), "{}", std::process::id())
    }
}

#[server(transport = "udp", concurrency = "forking", max_children = 4)]
struct UdpPid;

impl UdpPid {
    #[handle]
    fn handle(&self, req: &mut DatagramRequest) -> io::Result<()> {
        writeln!(req.wfile(), "{}", std::process::id())
    }
}

#[server(transport = "unix", concurrency = "forking", max_children = 4)]
struct UnixPid;

impl UnixPid {
    #[handle]
    fn handle(&self, req: &mut StreamRequest<UnixStream>) -> io::Result<()> {
        writeln!(req.wfile(), "{}", std::process::id())
    }
}

#[server(transport = "unix_datagram", concurrency = "forking", max_children = 4)]
struct UnixDatagramPid;

impl UnixDatagramPid {
    #[handle]
    fn handle(&self, req: &mut DatagramRequest<UnixDatagram>) -> io::Result<()> {
        writeln!(req.wfile(), "{}", std::process::id())
    }
}

/// The attribute makes a forking server of every transport (the type
/// annotations check the aliases), each request served in a child; closing
/// the server reaps it.
#[test]
fn the_attribute_makes_forking_servers_of_every_transport() {
    let mut pids = Vec::new();

    let mut tcp: ForkingTcpServer<TcpPid> = TcpPid.bind("127.0.0.1:0").unwrap();
    let mut client = connect(*tcp.server_address());
    tcp.handle_request().unwrap();
    pids.push(read_pid(&mut client));
    assert_eq!(read_to_close(&mut client), b"");
    drop(tcp);

    let mut udp: ForkingUdpServer<UdpPid> = UdpPid.bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.send_to(b"hi", udp.server_address()).unwrap();
    udp.handle_request().unwrap();
    let mut reply = [0; 100];
    let n = client.recv(&mut reply).unwrap();
    pids.push(split_pid(&reply[..n]).0);
    drop(udp);

    let dir = TempDir::new();
    let path = dir.join("stream.sock");
    let mut unix: ForkingUnixStreamServer<UnixPid> = UnixPid.bind(path.as_path()).unwrap();
    let mut client = UnixStream::connect(&path).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    unix.handle_request().unwrap();
    pids.push(read_pid(&mut client));
    assert_eq!(read_to_close(&mut client), b"");
    drop(unix);

    let path = dir.join("dgram.sock");
    let client_path = dir.join("client.sock");
    let mut dgram: ForkingUnixDatagramServer<UnixDatagramPid> =
        UnixDatagramPid.bind(path.as_path()).unwrap();
    let client = UnixDatagram::bind(&client_path).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.send_to(b"hi", &path).unwrap();
    dgram.handle_request().unwrap();
    let n = client.recv(&mut reply).unwrap();
    pids.push(split_pid(&reply[..n]).0);
    drop(dgram);
    fs::remove_file(&client_path).unwrap();

    assert_reaped(&pids);
}

/// CPython's `ErrorHandlerTest` service: each request sends the id of the
/// process serving it (`<pid>\n`) and appends `Handler called\n` to the log
/// file; then one byte from the client says what the handler does:
///
/// * `o`: echoes what follows until the client closes its side;
/// * `e`: returns an error; `p`: panics (both go to `handle_error`, which
///   appends `Error handled\n`);
/// * `x`: ends its process at once with status 3 (`handle_error` never hears
///   of it: Python's `SystemExit`);
/// * `t`: catches SIGTERM (so that it does not end the process), then echoes.
struct Probe {
    log: PathBuf,
}

impl Probe {
    fn new(log: PathBuf) -> Probe {
        Probe { log }
    }

    fn append(&self, line: &str) {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the log file");
        log.write_all(line.as_bytes()).expect("write the log file");
    }
}

impl Service for Probe {
    type Request = StreamRequest;

    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        self.append("Handler called\n");
        let (mut reader, mut writer) = req.split();
        writeln!(writer, "{}", std::process::id())?;
        let mut what = [0];
        reader.read_exact(&mut what)?;
        match &what {
            b"e" => Err(io::Error::other("the client asked for an error")),
            b"p" => panic!("the client asked for a panic"),
            b"x" => std::process::exit(3),
            b"t" => {
                signal_hook::flag::register(
                    signal_hook::consts::SIGTERM,
                    Arc::new(AtomicBool::new(false)),
                )?;
                io::copy(&mut reader, &mut writer).map(drop)
            }
            _ => io::copy(&mut reader, &mut writer).map(drop),
        }
    }

    fn handle_error(&self, _client: &SocketAddr, _error: &RequestError) {
        self.append("Error handled\n");
    }
}

/// A forking server of [`Probe`] that logs to `log`, with a loop that turns
/// often.
fn probe_server(log: &Path, shutdown_timeout: Duration) -> ForkingTcpServer<Probe> {
    ForkingTcpServer::builder(Probe::new(log.to_owned()))
        .timeout(Some(BOUND))
        .poll_interval(Duration::from_millis(10))
        .shutdown_timeout(shutdown_timeout)
        .bind("127.0.0.1:0")
        .unwrap()
}

/// Connects to a [`Probe`], tells it `what` to do, and returns the client and
/// the id of the process serving it.
fn probe(addr: SocketAddr, what: &[u8]) -> (TcpStream, u32) {
    let mut client = connect(addr);
    let pid = read_pid(&mut client);
    client.write_all(what).unwrap();
    (client, pid)
}

/// A request that asks for an error (`e`) or a panic (`p`): the server's
/// `handle_error` runs in the child, which then exits with status 1.
fn error_in_child(addr: SocketAddr, what: &[u8]) -> u32 {
    let (mut client, pid) = probe(addr, what);
    client.shutdown(Shutdown::Write).unwrap();
    // Closed once the error was handled.
    assert_eq!(read_to_close(&mut client), b"");
    pid
}

/// Waits until the server logs that child `pid` ended with `how`.
fn wait_for_exit_log(pid: u32, how: &str) {
    let line = format!("child process {pid} {how}");
    wait_until(&format!("the server logs {line:?}"), || {
        !logged(&line).is_empty()
    });
}

/// An ordinary request of a [`Probe`] server: served, its child exits with
/// status 0.
fn served(addr: SocketAddr) -> u32 {
    let (mut client, pid) = probe(addr, b"o");
    echo_and_close(&mut client, |c| c.shutdown(Shutdown::Write).unwrap());
    pid
}

/// CPython's `test_forking_handled`: an error and a panic in the handler go
/// to `handle_error` in the child, which exits with a non-zero status; the
/// server goes on.
#[test]
fn test_forking_handled() {
    capture_logs();
    let dir = TempDir::new();
    let log = dir.join("log");
    let running = serve(probe_server(&log, BOUND));
    for what in [b"e", b"p"] {
        let pid = error_in_child(running.addr(), what);
        assert_eq!(
            fs::read_to_string(&log).unwrap(),
            "Handler called\nError handled\n"
        );
        wait_for_exit_log(pid, "exited with status 1");
        fs::remove_file(&log).unwrap();
    }
    // The server goes on.
    let pid = served(running.addr());
    running.stop().unwrap();
    assert_eq!(fs::read_to_string(&log).unwrap(), "Handler called\n");
    assert!(logged(&format!("child process {pid} ")).is_empty());
    fs::remove_file(&log).unwrap();
}

/// CPython's `test_forking_not_handled`: a handler that ends its process
/// itself (Python's `SystemExit`) is not seen by `handle_error`; the client
/// sees its connection end at once (the server kept no copy of it), the
/// server logs the child's status and goes on.
#[test]
fn test_forking_not_handled() {
    capture_logs();
    let dir = TempDir::new();
    let log = dir.join("log");
    let running = serve(probe_server(&log, BOUND));
    let (mut client, pid) = probe(running.addr(), b"x");
    assert_eq!(read_to_close(&mut client), b"");
    wait_for_exit_log(pid, "exited with status 3");
    assert_eq!(fs::read_to_string(&log).unwrap(), "Handler called\n");
    fs::remove_file(&log).unwrap();
    // The server goes on.
    served(running.addr());
    running.stop().unwrap();
    fs::remove_file(&log).unwrap();
}

/// With `max_children = 2` and two children held by their clients, a third
/// connection waits in the backlog, unaccepted however many turns the loop
/// makes, and is served as soon as one child has ended.
#[test]
fn max_children_bounds_the_live_children() {
    let (gate, counters) = Gate::new();
    let server = ForkingTcpServer::builder(gate)
        .timeout(Some(BOUND))
        .max_children(2)
        .poll_interval(Duration::from_millis(10))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    let mut first = connect(addr);
    expect_started(&mut first);
    let mut second = connect(addr);
    expect_started(&mut second);
    let third = connect(addr);
    counters.full_turn();
    counters.full_turn();
    assert_eq!(counters.accepted(), 2, "accepted beyond max_children");
    assert_not_started(&third);

    // Reaped on a turn of the loop, the first child gives its place back.
    release(first);
    let mut third = third;
    expect_started(&mut third);
    assert_eq!(counters.accepted(), 3);
    release(second);
    release(third);
    running.stop().unwrap();
}

/// At `max_children`, a child that exits wakes the loop (SIGCHLD): the next
/// connection is served at once, not at the loop's next `poll_interval`
/// (an hour here, so the test would time out without the wake-up).
#[test]
fn a_child_that_exits_wakes_a_server_at_max_children() {
    let (gate, counters) = Gate::new();
    let server = ForkingTcpServer::builder(gate)
        .timeout(Some(BOUND))
        .max_children(1)
        .poll_interval(Duration::from_secs(3600))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let addr = running.addr();
    let mut first = connect(addr);
    expect_started(&mut first);
    let mut second = connect(addr);
    release(first);
    expect_started(&mut second);
    assert_eq!(counters.accepted(), 2);
    release(second);
    running.stop().unwrap();
}

/// `handle_request` forks too: the children count as open requests while they
/// run, at `max_children` it accepts nothing (and calls `handle_timeout` after
/// its `accept_timeout`), and it reaps the children that ended, which gives
/// their places back.
#[test]
fn handle_request_with_forking() {
    let (gate, counters) = Gate::new();
    let mut server = ForkingTcpServer::builder(gate)
        .timeout(Some(BOUND))
        .max_children(2)
        .accept_timeout(Some(Duration::from_millis(20)))
        .poll_interval(Duration::from_millis(10))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = *server.server_address();
    // All three wait in the backlog before the server looks.
    let mut clients: Vec<_> = (0..3).map(|_| connect(addr)).collect();
    for accepted in 1..=2 {
        server.handle_request().unwrap();
        assert_eq!(counters.accepted(), accepted);
        assert_eq!(server.open_requests(), accepted);
        assert_eq!(server.concurrency().children(), accepted);
    }
    expect_started(&mut clients[0]);
    expect_started(&mut clients[1]);
    // At the bound: waits its `accept_timeout` and accepts nothing.
    server.handle_request().unwrap();
    assert_eq!(counters.timeouts(), 1);
    assert_eq!(counters.accepted(), 2);
    assert_not_started(&clients[2]);

    let mut clients = clients.into_iter();
    release(clients.next().unwrap());
    wait_until(
        "handle_request reaps the first and accepts the third",
        || {
            server.handle_request().unwrap();
            counters.accepted() == 3
        },
    );
    assert_eq!(server.open_requests(), 2);
    let (second, mut third) = (clients.next().unwrap(), clients.next().unwrap());
    expect_started(&mut third);
    release(second);
    release(third);
    wait_until("handle_request reaps every child", || {
        server.handle_request().unwrap();
        server.open_requests() == 0
    });
    assert_eq!(server.concurrency().children(), 0);
}

/// bpo-31151: closing the server waits for the children still serving, and
/// reaps them.
#[test]
fn closing_waits_for_running_children() {
    let running = serve(
        ForkingTcpServer::builder(pid_echo())
            .timeout(Some(BOUND))
            .shutdown_timeout(BOUND)
            .bind("127.0.0.1:0")
            .unwrap(),
    );
    let mut client = connect(running.addr());
    let pid = read_pid(&mut client);
    let handle = running.handle();
    let stopping = thread::spawn(move || running.stop());
    wait_until("the loop has stopped", || !handle.is_serving());
    // The server is closing, and its child still serves.
    client.write_all(TEST_STR).unwrap();
    let mut reply = vec![0; TEST_STR.len()];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(reply, TEST_STR);
    assert!(!stopping.is_finished(), "closed with a child still serving");
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_close(&mut client), b"");
    stopping.join().unwrap().unwrap();
    assert_reaped(&[pid]);
}

/// Children still running `shutdown_timeout` after closing began get SIGTERM
/// (through the registry of open requests), which ends them even though they
/// inherited no handler of their own; they are reaped before closing returns.
#[test]
fn closing_ends_children_that_outstay_the_shutdown_timeout() {
    capture_logs();
    let dir = TempDir::new();
    let log = dir.join("log");
    let running = serve(probe_server(&log, Duration::from_millis(50)));
    let (mut client, pid) = probe(running.addr(), b"o");
    client.write_all(TEST_STR).unwrap();
    let mut reply = vec![0; TEST_STR.len()];
    client.read_exact(&mut reply).unwrap();
    // Would wait for ever for this idle client without the timeout.
    running.stop().unwrap();
    assert_reaped(&[pid]);
    assert!(!logged(&format!("child process {pid} was ended by SIGTERM")).is_empty());
    assert!(!logged("ending them with SIGTERM").is_empty());
    assert_eq!(read_to_close(&mut client), b"");
    fs::remove_file(&log).unwrap();
}

/// A child that catches SIGTERM and goes on is killed `shutdown_timeout`
/// later: closing never waits for ever, and leaves no child behind.
#[test]
fn children_that_survive_sigterm_are_killed() {
    capture_logs();
    let dir = TempDir::new();
    let log = dir.join("log");
    let running = serve(probe_server(&log, Duration::from_millis(50)));
    let (mut client, pid) = probe(running.addr(), b"t");
    // Echoed: the child has caught SIGTERM by now.
    client.write_all(TEST_STR).unwrap();
    let mut reply = vec![0; TEST_STR.len()];
    client.read_exact(&mut reply).unwrap();
    running.stop().unwrap();
    assert_reaped(&[pid]);
    assert!(!logged(&format!("child process {pid} was ended by SIGKILL")).is_empty());
    assert!(!logged("killing them (SIGKILL)").is_empty());
    assert_eq!(read_to_close(&mut client), b"");
    fs::remove_file(&log).unwrap();
}

/// A fork server reaps the children it forked, and no other: a child the
/// program started itself is still there for the program to wait for.
#[cfg(target_os = "linux")]
#[test]
fn children_the_server_did_not_fork_are_left_alone() {
    let (gate, counters) = Gate::new();
    let server = ForkingTcpServer::builder(gate)
        .timeout(Some(BOUND))
        .poll_interval(Duration::from_millis(10))
        .shutdown_timeout(BOUND)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut other = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
    let pid = other.id();
    wait_until("the program's own child has ended", || {
        my_children().contains(&(pid, 'Z'))
    });
    // The server reaps its own children meanwhile, on every turn.
    let mut client = connect(running.addr());
    expect_started(&mut client);
    counters.full_turn();
    release(client);
    counters.full_turn();
    counters.full_turn();
    assert_eq!(other.wait().unwrap().code(), Some(7));
    running.stop().unwrap();
}

#[test]
fn max_children_of_zero_is_refused_at_bind() {
    for builder in [
        ForkingTcpServer::builder(echo()).max_children(0),
        TcpServer::builder(echo()).concurrency(Forking::new().max_children(0)),
    ] {
        let e = builder.bind("127.0.0.1:0").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("max_children"), "{e}");
    }
}

/// No child is ever left a zombie: while the server runs, those that ended are
/// reaped on the loop's turns (no new connection needed); when it closes,
/// every child is reaped, the one still running too. Checked for every child
/// of the process, so in a process of its own, where this server's children
/// are the only ones.
#[cfg(target_os = "linux")]
#[test]
fn test_forking_children_reaped() {
    run_scenario("scenario_children_reaped");
}

/// The child of `test_forking_children_reaped`; does nothing unless run as
/// that child.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn scenario_children_reaped() {
    if !is_child_test("scenario_children_reaped") {
        return;
    }
    let dir = TempDir::new();
    let log = dir.join("log");
    let running = serve(probe_server(&log, Duration::from_millis(100)));
    let addr = running.addr();
    for _ in 0..2 {
        served(addr);
        error_in_child(addr, b"e");
        error_in_child(addr, b"p");
        let (mut client, _) = probe(addr, b"x");
        assert_eq!(read_to_close(&mut client), b"");
    }
    wait_until("every child that ended is reaped", || {
        my_children().is_empty()
    });
    // One still serving when the server closes.
    let (mut held, _) = probe(addr, b"o");
    held.write_all(TEST_STR).unwrap();
    let mut reply = vec![0; TEST_STR.len()];
    held.read_exact(&mut reply).unwrap();
    assert_eq!(my_children().len(), 1);
    running.stop().unwrap();
    assert_eq!(my_children(), [], "children left after the server closed");
    fs::remove_file(&log).unwrap();
}

/// SIGTERM sent to a child ends it at once, even while `shutdown_on_signals`
/// makes the server catch the signal (the child has no thread to act on a
/// caught one); the server goes on. In a process of its own, since it sets
/// the process's signal handlers.
#[test]
fn sigterm_ends_a_child_of_a_server_that_catches_it() {
    run_scenario("scenario_sigterm_ends_a_child");
}

/// The child of `sigterm_ends_a_child_of_a_server_that_catches_it`; does
/// nothing unless run as that child.
#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn scenario_sigterm_ends_a_child() {
    if !is_child_test("scenario_sigterm_ends_a_child") {
        return;
    }
    capture_logs();
    let dir = TempDir::new();
    let log = dir.join("log");
    let mut server = probe_server(&log, BOUND);
    server.shutdown_on_signals().unwrap();
    let running = serve(server);
    let (mut client, pid) = probe(running.addr(), b"o");
    client.write_all(TEST_STR).unwrap();
    let mut reply = vec![0; TEST_STR.len()];
    client.read_exact(&mut reply).unwrap();
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run `kill`");
    assert!(kill.success());
    assert_eq!(read_to_close(&mut client), b"");
    wait_for_exit_log(pid, "was ended by SIGTERM");
    // The server did not take the child's signal for its own: it serves on.
    assert!(running.handle().is_serving());
    served(running.addr());
    running.stop().unwrap();
    fs::remove_file(&log).unwrap();
}

/// A child reports its handler's error without a lock that another thread
/// of the server held at the fork (std's stderr lock here, which nothing in
/// the child would ever release): the child ends and the client sees the end.
/// In a process of its own, with no logger installed.
#[test]
fn a_child_reports_without_the_locks_held_at_the_fork() {
    run_scenario("scenario_report_while_stderr_is_locked");
}

/// The scenario of the test above; does nothing unless run as its child.
#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn scenario_report_while_stderr_is_locked() {
    if !is_child_test("scenario_report_while_stderr_is_locked") {
        return;
    }
    let (holding, held) = std::sync::mpsc::channel();
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let _lock = io::stderr().lock();
        holding.send(()).unwrap();
        let _ = wait.recv_timeout(BOUND);
    });
    held.recv().unwrap();
    let failing = handler_fn(|_: &mut StreamRequest| Err(io::Error::other("failing in a child")));
    let server = ForkingTcpServer::builder(failing)
        .timeout(Some(BOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let mut client = connect(running.addr());
    assert_eq!(read_to_close(&mut client), b"");
    release.send(()).unwrap();
    holder.join().unwrap();
    running.stop().unwrap();
}
