//! CPython's `Lib/test/test_socketserver.py`, scenario by scenario.
//!
//! `SocketServerTest`'s round trip (`run_server` with `stream_examine` or
//! `dgram_examine`: three clients each send `TEST_STR` and get it back) runs here
//! for every transport × every blocking model, each server written with the
//! attributes; `ErrorHandlerTest` is here too. The other scenarios of that file
//! have their counterparts where their subject lives:
//!
//! | CPython | here |
//! | --- | --- |
//! | `test_shutdown` (several servers, `serve_forever` on threads) | `lifecycle.rs`: `shutdown_*` |
//! | `test_close_immediately` | `lifecycle.rs`, `fd_leaks.rs` |
//! | `test_tcpserver_bind_leak` | `fd_leaks.rs`: `failed_binds_and_closed_servers_leak_no_descriptor` |
//! | `test_shutdown_request_called_if_verify_request_false` | `hooks.rs`: refused clients see end of input |
//! | `test_threads_reaped` | `threading.rs`: `threads_are_reaped_under_handle_request` |
//! | `SocketWriterTest` (`wfile` writes everything) | `stream_request.rs` |
//! | `test_forking_handled`, `test_forking_not_handled`, children reaped | `forking.rs` |
//! | the Unix socket files | `unix.rs` |

use socketserver::{DatagramRequest, RequestError, Stream, StreamRequest, handle, hook, server};
use socketserver_tests::{BOUND, TempDir, serve};
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram, UnixStream};
use std::sync::{Arc, Mutex};

/// CPython's `TEST_STR`.
const TEST_STR: &[u8] = b"hello world\n";

/// CPython's `MyHandler.handle` for streams: `self.wfile.write(self.rfile.readline())`.
fn stream_echo<S: Stream>(req: &mut StreamRequest<S>) -> io::Result<()> {
    let (mut reader, mut writer) = req.split();
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    writer.write_all(&line)
}

/// The same for datagrams (`DatagramRequestHandler`): the packet's first line
/// back, as one datagram.
fn dgram_echo<D: socketserver::DatagramSocket>(req: &mut DatagramRequest<D>) -> io::Result<()> {
    let mut line = Vec::new();
    req.rfile().read_until(b'\n', &mut line)?;
    req.wfile().write_all(&line)
}

/// `stream_examine` over TCP.
fn tcp_examine(addr: SocketAddr) {
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.write_all(TEST_STR).unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, TEST_STR);
}

/// `stream_examine` over a Unix stream socket.
fn unix_examine(addr: UnixAddr) {
    let path = addr.as_pathname().expect("a path");
    let mut client = UnixStream::connect(path).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.write_all(TEST_STR).unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, TEST_STR);
}

/// `dgram_examine` over UDP.
fn udp_examine(addr: SocketAddr) {
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.send_to(TEST_STR, addr).unwrap();
    let mut reply = [0; 100];
    let n = client.recv(&mut reply).unwrap();
    assert_eq!(&reply[..n], TEST_STR);
}

/// `dgram_examine` over a Unix datagram socket: the client binds a path of
/// its own, so that the reply has somewhere to go (CPython's test could not
/// do this, and left these servers out).
fn unix_dgram_examine(addr: UnixAddr) {
    let server = addr.as_pathname().expect("a path");
    let dir = TempDir::new();
    let client = UnixDatagram::bind(dir.join("client")).unwrap();
    client.set_read_timeout(Some(BOUND)).unwrap();
    client.send_to(TEST_STR, server).unwrap();
    let mut reply = [0; 100];
    let n = client.recv(&mut reply).unwrap();
    assert_eq!(&reply[..n], TEST_STR);
    drop(client);
    std::fs::remove_file(dir.join("client")).unwrap();
}

/// One test per line: `name: transport, concurrency, request type, handler,
/// bind address (from the test's directory), examine`. Each runs three
/// clients against a server written with `#[server]`, as `run_server` does.
macro_rules! run_server {
    ($($name:ident: $transport:tt, $model:tt, $request:ty, $handler:ident, $addr:expr, $examine:ident;)*) => {$(
        #[test]
        fn $name() {
            #[server(transport = $transport, concurrency = $model)]
            struct MyServer;

            impl MyServer {
                #[handle]
                fn handle(&self, req: &mut $request) -> io::Result<()> {
                    $handler(req)
                }
            }

            let dir = TempDir::new();
            let running = serve(MyServer.bind(($addr)(&dir)).unwrap());
            for _ in 0..3 {
                $examine(running.addr());
            }
            running.stop().unwrap();
        }
    )*};
}

fn ip(_: &TempDir) -> &'static str {
    "127.0.0.1:0"
}

fn path(dir: &TempDir) -> std::path::PathBuf {
    dir.join("server")
}

run_server! {
    test_tcp_server: "tcp", "sync", StreamRequest, stream_echo, ip, tcp_examine;
    test_threading_tcp_server: "tcp", "threading", StreamRequest, stream_echo, ip, tcp_examine;
    test_forking_tcp_server: "tcp", "forking", StreamRequest, stream_echo, ip, tcp_examine;
    test_pool_tcp_server: "tcp", "pool", StreamRequest, stream_echo, ip, tcp_examine;
    test_udp_server: "udp", "sync", DatagramRequest, dgram_echo, ip, udp_examine;
    test_threading_udp_server: "udp", "threading", DatagramRequest, dgram_echo, ip, udp_examine;
    test_forking_udp_server: "udp", "forking", DatagramRequest, dgram_echo, ip, udp_examine;
    test_pool_udp_server: "udp", "pool", DatagramRequest, dgram_echo, ip, udp_examine;
    test_unix_stream_server: "unix", "sync", StreamRequest<UnixStream>, stream_echo, path, unix_examine;
    test_threading_unix_stream_server: "unix", "threading", StreamRequest<UnixStream>, stream_echo, path, unix_examine;
    test_forking_unix_stream_server: "unix", "forking", StreamRequest<UnixStream>, stream_echo, path, unix_examine;
    test_pool_unix_stream_server: "unix", "pool", StreamRequest<UnixStream>, stream_echo, path, unix_examine;
    test_unix_datagram_server: "unix_datagram", "sync", DatagramRequest<UnixDatagram>, dgram_echo, path, unix_dgram_examine;
    test_threading_unix_datagram_server: "unix_datagram", "threading", DatagramRequest<UnixDatagram>, dgram_echo, path, unix_dgram_examine;
    test_forking_unix_datagram_server: "unix_datagram", "forking", DatagramRequest<UnixDatagram>, dgram_echo, path, unix_dgram_examine;
    test_pool_unix_datagram_server: "unix_datagram", "pool", DatagramRequest<UnixDatagram>, dgram_echo, path, unix_dgram_examine;
}

/// `ErrorHandlerTest`: a handler that fails is reported to `handle_error`,
/// once, and the server goes on. CPython's "handled" case is an exception
/// `handle_error` handles (here: an error returned), its "not handled" one an
/// exception that escapes it and stops the server (here a panic, which is
/// caught and reported all the same: nothing a handler does stops the server).
macro_rules! error_handler_test {
    ($($name:ident: $model:tt, $fails:expr, $reported:literal;)*) => {$(
        #[test]
        fn $name() {
            #[server(concurrency = $model)]
            struct MyServer {
                reported: Arc<Mutex<Vec<String>>>,
            }

            impl MyServer {
                #[handle]
                fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
                    let mut line = String::new();
                    req.rfile().read_line(&mut line)?;
                    if line == "fail\n" {
                        $fails;
                    }
                    req.wfile().write_all(line.as_bytes())
                }

                #[hook]
                fn handle_error(&self, _client: &SocketAddr, error: &RequestError) {
                    self.reported.lock().unwrap().push(error.to_string());
                }
            }

            let reported = Arc::new(Mutex::new(Vec::new()));
            let server = MyServer { reported: Arc::clone(&reported) }
                .bind("127.0.0.1:0")
                .unwrap();
            let running = serve(server);
            let exchange = |line: &[u8]| {
                let mut client = TcpStream::connect(running.addr()).unwrap();
                client.set_read_timeout(Some(BOUND)).unwrap();
                client.write_all(line).unwrap();
                let mut reply = Vec::new();
                client.read_to_end(&mut reply).unwrap();
                reply
            };
            // `handle_error` runs before the connection closes.
            assert_eq!(exchange(b"fail\n"), b"");
            let seen = reported.lock().unwrap().clone();
            assert_eq!(seen.len(), 1, "{seen:?}");
            assert!(seen[0].contains($reported), "{seen:?}");
            // The server goes on.
            assert_eq!(exchange(TEST_STR), TEST_STR);
            running.stop().unwrap();
        }
    )*};
}

error_handler_test! {
    test_sync_handled: "sync", return Err(io::Error::other("handled")), "`handle` failed: handled";
    test_sync_not_handled: "sync", panic!("not handled"), "`handle` panicked at";
    test_threading_handled: "threading", return Err(io::Error::other("handled")), "`handle` failed: handled";
    test_threading_not_handled: "threading", panic!("not handled"), "`handle` panicked at";
}
