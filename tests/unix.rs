//! The Unix transports: Python's `UnixStreamServer` and `UnixDatagramServer`
//! (CPython's round trips, under `sync` and `threading`), and the life of their
//! socket files: a live server's path is refused, a stale socket file is
//! removed, a file that is not a socket is kept, and closing removes the
//! server's own file but not one that replaced it. Abstract names on Linux,
//! adopted sockets, truncated datagrams and replies to unbound clients too.
//!
//! Every test works in a directory of its own under the system's temporary
//! directory, removed at the end even when the test fails; a test that
//! passes has left nothing in it (the guard checks).

use socketserver::{
    DatagramRequest, RequestError, Server, Service, Stage, StreamRequest, Synchronous, Threading,
    ThreadingUnixDatagramServer, ThreadingUnixStreamServer, Unix, UnixDatagramServer, UnixDgram,
    UnixStreamServer, handle, handler_fn, server,
};
use socketserver_tests::{BOUND, TempDir, serve};
use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// CPython's `TEST_STR`.
const TEST_STR: &[u8] = b"hello world\n";

/// Python's `StreamRequestHandler` echo of CPython's tests:
/// `self.wfile.write(self.rfile.readline())`.
fn stream_echo() -> impl Service<Request = StreamRequest<UnixStream>> {
    handler_fn(|req: &mut StreamRequest<UnixStream>| {
        let (mut reader, mut writer) = req.split();
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line)?;
        writer.write_all(&line)
    })
}

/// The datagram echo of CPython's tests.
fn dgram_echo() -> impl Service<Request = DatagramRequest<UnixDatagram>> {
    handler_fn(|req: &mut DatagramRequest<UnixDatagram>| {
        let packet = req.packet().to_vec();
        req.wfile().write_all(&packet)
    })
}

/// A client connection with bounded reads and writes.
fn connect(path: &Path) -> UnixStream {
    let stream =
        UnixStream::connect(path).unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.set_write_timeout(Some(BOUND)).unwrap();
    stream
}

/// CPython's `stream_examine`: `TEST_STR` comes back.
fn stream_examine(path: &Path) {
    let stream = connect(path);
    (&stream).write_all(TEST_STR).unwrap();
    let mut reply = Vec::new();
    BufReader::new(&stream)
        .read_until(b'\n', &mut reply)
        .expect("a reply");
    assert_eq!(reply, TEST_STR);
}

/// A client datagram socket bound at `path` (so that replies reach it), with
/// a bounded read.
fn dgram_client(path: &Path) -> UnixDatagram {
    let client =
        UnixDatagram::bind(path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
    client.set_read_timeout(Some(BOUND)).unwrap();
    client
}

/// Sends `request` to the server at `server` and returns the reply.
fn exchange(client: &UnixDatagram, server: &Path, request: &[u8]) -> Vec<u8> {
    client.send_to(request, server).unwrap();
    let mut reply = vec![0; 70_000];
    let n = client.recv(&mut reply).expect("a reply datagram");
    reply.truncate(n);
    reply
}

/// CPython's `dgram_examine`: from a client bound to a path of its own,
/// `TEST_STR` comes back.
fn dgram_examine(dir: &TempDir, server: &Path) {
    let client_path = dir.join("client.sock");
    let client = dgram_client(&client_path);
    assert_eq!(exchange(&client, server, TEST_STR), TEST_STR);
    drop(client);
    fs::remove_file(client_path).unwrap();
}

/// CPython's `run_server` with a stream server of model `C`: three round
/// trips, then the server closes, and its socket file is gone.
fn run_stream_server<C>()
where
    C: socketserver::Drives<socketserver::StreamRequest<std::os::unix::net::UnixStream>> + Default,
{
    let dir = TempDir::new();
    let path = dir.join("server.sock");
    let server = Server::<Unix, C, _>::builder(stream_echo())
        .poll_interval(Duration::from_millis(10))
        .bind(path.as_path())
        .unwrap();
    assert_eq!(server.server_address().as_pathname(), Some(path.as_path()));
    let running = serve(server);
    for _ in 0..3 {
        stream_examine(&path);
    }
    drop(running);
    assert!(!path.exists(), "the socket file outlived the server");
}

/// [`run_stream_server`] for datagrams.
fn run_dgram_server<C>()
where
    C: socketserver::Drives<socketserver::DatagramRequest<std::os::unix::net::UnixDatagram>>
        + Default,
{
    let dir = TempDir::new();
    let path = dir.join("server.sock");
    let server = Server::<UnixDgram, C, _>::builder(dgram_echo())
        .poll_interval(Duration::from_millis(10))
        .bind(path.as_path())
        .unwrap();
    let running = serve(server);
    for _ in 0..3 {
        dgram_examine(&dir, &path);
    }
    drop(running);
    assert!(!path.exists(), "the socket file outlived the server");
}

#[test]
fn unix_stream_server() {
    run_stream_server::<Synchronous>();
}

#[test]
fn threading_unix_stream_server() {
    run_stream_server::<Threading>();
}

#[test]
fn unix_datagram_server() {
    run_dgram_server::<Synchronous>();
}

#[test]
fn threading_unix_datagram_server() {
    run_dgram_server::<Threading>();
}

#[test]
fn the_aliases_bind_every_kind_of_path() {
    let dir = TempDir::new();
    let path = dir.join("str.sock");
    let text = path.to_str().unwrap();
    drop(UnixStreamServer::bind(text, stream_echo()).unwrap());
    drop(ThreadingUnixStreamServer::bind(text.to_owned(), stream_echo()).unwrap());
    drop(UnixDatagramServer::bind(path.clone(), dgram_echo()).unwrap());
    let addr = SocketAddr::from_pathname(&path).unwrap();
    drop(ThreadingUnixDatagramServer::bind(addr, dgram_echo()).unwrap());
    assert!(!path.exists());
}

#[test]
fn the_attributes_serve_unix_sockets() {
    #[server(transport = "unix", concurrency = "sync", backlog = 8)]
    struct Upper;

    impl Upper {
        #[handle]
        fn handle(&self, req: &mut StreamRequest<UnixStream>) -> io::Result<()> {
            let mut line = String::new();
            req.rfile().read_line(&mut line)?;
            req.wfile().write_all(line.to_uppercase().as_bytes())
        }
    }

    #[server(transport = "unix_datagram", max_packet_size = 64)]
    struct DgramUpper;

    impl DgramUpper {
        #[handle]
        fn handle(&self, req: &mut DatagramRequest<UnixDatagram>) -> io::Result<()> {
            let reply = req.packet().to_ascii_uppercase();
            req.wfile().write_all(&reply)
        }
    }

    let dir = TempDir::new();
    let stream_path = dir.join("stream.sock");
    let dgram_path = dir.join("dgram.sock");
    let stream = serve(Upper.bind(stream_path.as_path()).unwrap());
    let dgram = serve(DgramUpper.bind(dgram_path.as_path()).unwrap());
    let client = connect(&stream_path);
    (&client).write_all(b"hello\n").unwrap();
    let mut reply = String::new();
    BufReader::new(&client).read_line(&mut reply).unwrap();
    assert_eq!(reply, "HELLO\n");
    let client_path = dir.join("client.sock");
    let client = dgram_client(&client_path);
    assert_eq!(exchange(&client, &dgram_path, b"hi"), b"HI");
    fs::remove_file(&client_path).unwrap();
    drop((stream, dgram));
    assert!(!stream_path.exists() && !dgram_path.exists());
}

#[test]
fn binding_where_a_server_listens_is_refused_and_it_goes_on_serving() {
    let dir = TempDir::new();
    let path = dir.join("live.sock");
    let running = serve(UnixStreamServer::bind(path.as_path(), stream_echo()).unwrap());
    for error in [
        UnixStreamServer::bind(path.as_path(), stream_echo()).unwrap_err(),
        // A live server of the other type is live all the same.
        UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        let message = error.to_string();
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        assert!(message.contains("a server is listening there"), "{message}");
        // The operating system's error is kept as the source.
        let source = std::error::Error::source(error.get_ref().unwrap()).unwrap();
        assert!(source.to_string().contains("in use"), "{source}");
    }
    stream_examine(&path);
    drop(running);
    assert!(!path.exists());
}

#[test]
fn binding_where_a_datagram_server_is_bound_is_refused() {
    let dir = TempDir::new();
    let path = dir.join("live.sock");
    let running = serve(UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap());
    for error in [
        UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap_err(),
        UnixStreamServer::bind(path.as_path(), stream_echo()).unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        assert!(
            error.to_string().contains(path.to_str().unwrap()),
            "{error}"
        );
    }
    dgram_examine(&dir, &path);
    drop(running);
    assert!(!path.exists());
}

#[test]
fn a_stale_socket_file_is_removed_before_binding() {
    let dir = TempDir::new();
    let path = dir.join("stale.sock");
    // A server that died: its listener is closed, its file is left.
    drop(UnixListener::bind(&path).unwrap());
    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_socket());
    let running = serve(UnixStreamServer::bind(path.as_path(), stream_echo()).unwrap());
    stream_examine(&path);
    drop(running);
    assert!(!path.exists());

    // Of a datagram server, and for a datagram server.
    drop(UnixDatagram::bind(&path).unwrap());
    let running = serve(UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap());
    dgram_examine(&dir, &path);
    drop(running);
    assert!(!path.exists());
}

#[test]
fn a_file_that_is_not_a_socket_is_refused_and_kept() {
    let dir = TempDir::new();
    let path = dir.join("notes.txt");
    fs::write(&path, b"keep me").unwrap();
    let errors = [
        UnixStreamServer::bind(path.as_path(), stream_echo()).unwrap_err(),
        UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap_err(),
    ];
    for error in errors {
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        let message = error.to_string();
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        assert!(message.contains("not a socket"), "{message}");
    }
    assert_eq!(fs::read(&path).unwrap(), b"keep me");

    // Nor a symbolic link, even to a stale socket file.
    let stale = dir.join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let link = dir.join("link.sock");
    std::os::unix::fs::symlink(&stale, &link).unwrap();
    let error = UnixStreamServer::bind(link.as_path(), stream_echo()).unwrap_err();
    assert!(error.to_string().contains("not a socket"), "{error}");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(stale.exists());

    for file in [&path, &link, &stale] {
        fs::remove_file(file).unwrap();
    }
}

#[test]
fn closing_removes_the_servers_own_socket_file() {
    let dir = TempDir::new();
    let path = dir.join("own.sock");
    let server = UnixStreamServer::bind(path.as_path(), stream_echo()).unwrap();
    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_socket());
    server.server_close();
    assert!(!path.exists());

    let server = UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap();
    assert!(path.exists());
    drop(server);
    assert!(!path.exists());
}

#[test]
fn closing_leaves_a_socket_file_that_replaced_the_servers_alone() {
    let dir = TempDir::new();
    let path = dir.join("replaced.sock");
    let old = UnixStreamServer::bind(path.as_path(), stream_echo()).unwrap();
    // Someone removed the old server's file and a newer server bound the path.
    fs::remove_file(&path).unwrap();
    let newer = UnixListener::bind(&path).unwrap();
    drop(old);
    assert!(path.exists(), "the old server removed the newer one's file");
    let _client = connect(&path);
    newer
        .accept()
        .expect("the newer server still gets connections");

    // The same for a datagram server; and a file removed by someone else is
    // no error at close.
    drop(newer);
    fs::remove_file(&path).unwrap();
    let old = UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap();
    fs::remove_file(&path).unwrap();
    let newer = UnixDatagram::bind(&path).unwrap();
    drop(old);
    assert!(path.exists(), "the old server removed the newer one's file");
    drop(newer);
    fs::remove_file(&path).unwrap();
    let old = UnixDatagramServer::bind(path.as_path(), dgram_echo()).unwrap();
    fs::remove_file(&path).unwrap();
    drop(old);
}

#[test]
fn a_relative_path_serves_and_is_removed_at_close() {
    let dir = TempDir::new();
    let path = dir.join("relative.sock");
    // `../../tmp/…/relative.sock` from the working directory (which getcwd
    // gives without symbolic links, as `..` is resolved).
    let cwd = std::env::current_dir().unwrap();
    let mut relative = PathBuf::new();
    for _ in 1..cwd.components().count() {
        relative.push("..");
    }
    relative.push(path.strip_prefix("/").unwrap());
    let server = UnixStreamServer::bind(relative.as_path(), stream_echo()).unwrap();
    assert_eq!(
        server.server_address().as_pathname(),
        Some(relative.as_path())
    );
    let running = serve(server);
    stream_examine(&path);
    drop(running);
    assert!(!path.exists());
}

#[test]
fn bind_errors_name_the_path() {
    let dir = TempDir::new();
    let missing = dir.join("no-such-dir").join("server.sock");
    let error = UnixStreamServer::bind(missing.as_path(), stream_echo()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(
        error.to_string().contains(missing.to_str().unwrap()),
        "{error}"
    );
    assert!(std::error::Error::source(error.get_ref().unwrap()).is_some());

    let long = dir.join(&"x".repeat(200));
    let error = UnixDatagramServer::bind(long.as_path(), dgram_echo()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    assert!(
        error.to_string().contains(long.to_str().unwrap()),
        "{error}"
    );

    let error = UnixStreamServer::bind("", stream_echo()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    assert!(error.to_string().contains("empty path"), "{error}");
}

#[test]
fn an_unbound_server_binds_then_activates() {
    let dir = TempDir::new();
    let path = dir.join("unbound.sock");
    let mut unbound = UnixStreamServer::builder(stream_echo())
        .backlog(1)
        .unbound(path.as_path())
        .unwrap();
    assert!(!path.exists());
    unbound.server_bind().unwrap();
    assert!(path.exists());
    let running = serve(unbound.server_activate().unwrap());
    stream_examine(&path);
    drop(running);
    assert!(!path.exists());
}

#[cfg(target_os = "linux")]
mod abstract_names {
    use super::*;
    use std::os::linux::net::SocketAddrExt;

    /// A name no other test or process uses.
    fn unique_name() -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        format!(
            "socketserver-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        )
    }

    #[test]
    fn a_path_starting_with_nul_is_an_abstract_name() {
        let name = unique_name();
        let server = UnixStreamServer::bind(format!("\0{name}"), stream_echo()).unwrap();
        assert_eq!(
            server.server_address().as_abstract_name(),
            Some(name.as_bytes())
        );
        let running = serve(server);
        let addr = SocketAddr::from_abstract_name(&name).unwrap();
        let stream = UnixStream::connect_addr(&addr).unwrap();
        stream.set_read_timeout(Some(BOUND)).unwrap();
        (&stream).write_all(TEST_STR).unwrap();
        let mut reply = Vec::new();
        BufReader::new(&stream)
            .read_until(b'\n', &mut reply)
            .unwrap();
        assert_eq!(reply, TEST_STR);

        // Taken while the server lives, as a path would be.
        let error = UnixStreamServer::bind(addr.clone(), stream_echo()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        assert!(error.to_string().contains(&format!("@{name}")), "{error}");
        drop(running);
        // Free again once the server is closed.
        drop(UnixStreamServer::bind(addr, stream_echo()).unwrap());
    }

    #[test]
    fn a_datagram_server_replies_to_an_abstract_client() {
        let name = unique_name();
        let addr = SocketAddr::from_abstract_name(&name).unwrap();
        let running = serve(UnixDatagramServer::bind(addr.clone(), dgram_echo()).unwrap());
        let client_addr = SocketAddr::from_abstract_name(format!("{name}-client")).unwrap();
        let client = UnixDatagram::bind_addr(&client_addr).unwrap();
        client.set_read_timeout(Some(BOUND)).unwrap();
        client.send_to_addr(TEST_STR, &addr).unwrap();
        let mut reply = [0; 64];
        let n = client.recv(&mut reply).unwrap();
        assert_eq!(&reply[..n], TEST_STR);
        drop(running);
    }
}

#[test]
fn from_listener_adopts_a_unix_listener_and_leaves_its_file() {
    let dir = TempDir::new();
    let path = dir.join("adopted.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = UnixStreamServer::builder(stream_echo())
        .from_listener(listener)
        .unwrap();
    assert_eq!(server.server_address().as_pathname(), Some(path.as_path()));
    let running = serve(server);
    stream_examine(&path);
    drop(running);
    // Bound by someone else: theirs to remove.
    assert!(path.exists());
    fs::remove_file(&path).unwrap();

    let socket = UnixDatagram::bind(&path).unwrap();
    let running = serve(
        UnixDatagramServer::builder(dgram_echo())
            .from_listener(socket)
            .unwrap(),
    );
    dgram_examine(&dir, &path);
    drop(running);
    assert!(path.exists());
    fs::remove_file(&path).unwrap();
}

#[test]
fn from_listener_refuses_sockets_of_another_kind() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let error = UnixStreamServer::builder(stream_echo())
        .from_listener(tcp)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    let (stream, _) = UnixStream::pair().unwrap();
    let error = UnixStreamServer::builder(stream_echo())
        .from_listener(stream)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    let dgram = UnixDatagram::unbound().unwrap();
    assert!(
        UnixStreamServer::builder(stream_echo())
            .from_listener(dgram)
            .is_err()
    );
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let error = UnixDatagramServer::builder(dgram_echo())
        .from_listener(udp)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
}

#[test]
fn a_datagram_longer_than_max_packet_size_is_cut_and_says_so() {
    let dir = TempDir::new();
    let path = dir.join("cut.sock");
    let report = handler_fn(|req: &mut DatagramRequest<UnixDatagram>| {
        let (len, cut) = (req.packet().len(), req.is_truncated());
        write!(req.wfile(), "{len} {cut}")
    });
    let server = UnixDatagramServer::builder(report)
        .max_packet_size(16)
        .bind(path.as_path())
        .unwrap();
    let running = serve(server);
    let client_path = dir.join("client.sock");
    let client = dgram_client(&client_path);
    assert_eq!(exchange(&client, &path, &[b'x'; 100]), b"16 true");
    assert_eq!(exchange(&client, &path, &[b'x'; 16]), b"16 false");
    assert_eq!(exchange(&client, &path, &[b'x'; 3]), b"3 false");
    fs::remove_file(&client_path).unwrap();
    drop(running);

    for size in [0, 65_508] {
        let error = UnixDatagramServer::builder(dgram_echo())
            .max_packet_size(size)
            .bind(path.as_path())
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("max_packet_size"), "{error}");
    }
    assert!(!path.exists());
}

/// Echoes datagrams and sends every error `handle_error` gets down a channel.
struct Reporting(Mutex<mpsc::Sender<(Stage, io::ErrorKind, String)>>);

impl Service for Reporting {
    type Request = DatagramRequest<UnixDatagram>;

    fn handle(&self, req: &mut DatagramRequest<UnixDatagram>) -> io::Result<()> {
        let packet = req.packet().to_vec();
        req.wfile().write_all(&packet)
    }

    fn handle_error(&self, _client: &SocketAddr, error: &RequestError) {
        let io = error.io_error().expect("an I/O error, not a panic");
        let report = (error.stage(), io.kind(), io.to_string());
        let _ = self.0.lock().unwrap().send(report);
    }
}

#[test]
fn a_reply_to_an_unbound_client_is_reported_and_the_server_goes_on() {
    let dir = TempDir::new();
    let path = dir.join("server.sock");
    let (errors, reported) = mpsc::channel();
    let service = Reporting(Mutex::new(errors));
    let running = serve(UnixDatagramServer::bind(path.as_path(), service).unwrap());

    let unbound = UnixDatagram::unbound().unwrap();
    unbound.send_to(b"who am I", &path).unwrap();
    let (stage, kind, message) = reported.recv_timeout(BOUND).expect("an error reported");
    assert_eq!(stage, Stage::Close);
    assert_eq!(kind, ErrorKind::NotConnected);
    assert!(
        message.contains("bind the client's socket to a path to get replies"),
        "{message}"
    );

    // And serves the next client.
    dgram_examine(&dir, &path);
    assert!(reported.try_recv().is_err(), "no other error");
    drop(running);
}

#[test]
fn a_client_that_reads_no_replies_does_not_hold_the_server() {
    // Its queue fills up; each reply after that waits the server's `timeout`,
    // then is reported, and the server goes on.
    let dir = TempDir::new();
    let path = dir.join("server.sock");
    let (errors, reported) = mpsc::channel();
    let server = UnixDatagramServer::builder(Reporting(Mutex::new(errors)))
        .timeout(Some(Duration::from_millis(20)))
        .bind(path.as_path())
        .unwrap();
    let running = serve(server);
    let deaf_path = dir.join("deaf.sock");
    let deaf = dgram_client(&deaf_path);
    deaf.set_write_timeout(Some(BOUND)).unwrap();
    let mut timed_out = false;
    for _ in 0..1000 {
        deaf.send_to(b"reply to me", &path).unwrap();
        if let Ok((stage, kind, _)) = reported.try_recv() {
            assert_eq!((stage, kind), (Stage::Close, ErrorKind::TimedOut));
            timed_out = true;
            break;
        }
    }
    if !timed_out {
        let (stage, kind, _) = reported.recv_timeout(BOUND).expect("a reply timed out");
        assert_eq!((stage, kind), (Stage::Close, ErrorKind::TimedOut));
    }
    // Another client is served all the same.
    let client_path = dir.join("client.sock");
    let client = dgram_client(&client_path);
    // Replies to the deaf client still waiting: at most a few timeouts each.
    assert_eq!(exchange(&client, &path, TEST_STR), TEST_STR);
    fs::remove_file(&client_path).unwrap();
    drop(deaf);
    fs::remove_file(&deaf_path).unwrap();
    drop(running);
    // Any error reported was a timed-out reply.
    while let Ok((stage, kind, message)) = reported.try_recv() {
        assert!(
            stage == Stage::Close
                && matches!(
                    kind,
                    ErrorKind::TimedOut | ErrorKind::ConnectionRefused | ErrorKind::NotFound
                ),
            "{stage} {kind:?} {message}"
        );
    }
}

#[test]
fn the_client_address_of_a_stream_request_is_unnamed_or_its_path() {
    let dir = TempDir::new();
    let path = dir.join("server.sock");
    let who = handler_fn(|req: &mut StreamRequest<UnixStream>| {
        let client = req.client_address();
        let text = match client.as_pathname() {
            Some(path) => path.display().to_string(),
            None => format!("unnamed={}", client.is_unnamed()),
        };
        req.wfile().write_all(text.as_bytes())
    });
    let running = serve(UnixStreamServer::bind(path.as_path(), who).unwrap());
    let mut reply = String::new();
    connect(&path).read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "unnamed=true");
    drop(running);
}
