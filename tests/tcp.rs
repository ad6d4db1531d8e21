//! The TCP transport: binding IPv4 and IPv6 on port 0, bind errors, socket
//! options (`reuse_port`, `backlog`, `nodelay`), unbound servers (Python's
//! `bind_and_activate=False`), adopted listeners and the `bind` shortcuts.

use socketserver::{Service, StreamRequest, TcpServer, ThreadingTcpServer, handler_fn};
use socketserver_tests::{connect, read_to_end, round_trip, serve};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};

const LOOPBACK: &str = "127.0.0.1:0";

/// Sends back everything the client sent, once the client has half-closed.
fn echo() -> impl Service<Request = StreamRequest> {
    handler_fn(|req: &mut StreamRequest| {
        let mut data = Vec::new();
        req.rfile().read_to_end(&mut data)?;
        req.wfile().write_all(&data)
    })
}

/// Replies with what `reply` says of the request (a socket option, say), then closes.
fn reply_with(
    reply: fn(&StreamRequest) -> io::Result<String>,
) -> impl Service<Request = StreamRequest> {
    handler_fn(move |req: &mut StreamRequest| {
        let text = reply(req)?;
        req.wfile().write_all(text.as_bytes())
    })
}

/// The reply of a server that says nothing is asked.
fn reply_to_nothing(addr: SocketAddr) -> String {
    String::from_utf8(round_trip(addr, b"")).unwrap()
}

/// Whether a failed bind of `[::1]` means the host has no IPv6 loopback.
fn ipv6_unavailable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::AddrNotAvailable | ErrorKind::Unsupported
    )
        // EAFNOSUPPORT has no kind of its own, so ask std whether the host can
        // bind ::1 at all.
        || TcpListener::bind("[::1]:0").is_err()
}

#[test]
fn ipv4_port_zero_is_given_a_real_port_that_serves() {
    let server = TcpServer::bind(LOOPBACK, echo()).unwrap();
    let addr = *server.server_address();
    assert!(addr.is_ipv4() && addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0);
    let running = serve(server);
    assert_eq!(round_trip(running.addr(), b"over IPv4"), b"over IPv4");
}

#[test]
fn ipv6_port_zero_is_given_a_real_port_that_serves() {
    let server = match TcpServer::bind("[::1]:0", echo()) {
        Ok(server) => server,
        Err(e) if ipv6_unavailable(&e) => {
            eprintln!("skipped: this host has no IPv6 loopback ({e})");
            return;
        }
        Err(e) => panic!("cannot bind [::1]:0: {e}"),
    };
    let addr = *server.server_address();
    assert!(addr.is_ipv6() && addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0);
    let running = serve(server);
    assert_eq!(round_trip(running.addr(), b"over IPv6"), b"over IPv6");
}

#[test]
fn binding_a_port_in_use_fails_with_addr_in_use_naming_the_address() {
    // An active listener: SO_REUSEADDR (on by default) cannot share its port.
    let taken = TcpListener::bind(LOOPBACK).unwrap();
    let addr = taken.local_addr().unwrap();
    let error = TcpServer::bind(addr, echo()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
}

#[test]
fn two_servers_with_reuse_port_bind_the_same_port() {
    let first = TcpServer::builder(echo())
        .reuse_port(true)
        .bind(LOOPBACK)
        .unwrap();
    let addr = *first.server_address();
    let second = TcpServer::builder(echo())
        .reuse_port(true)
        .bind(addr)
        .unwrap();
    assert_eq!(*second.server_address(), addr);
    let (_first, _second) = (serve(first), serve(second));
    // The kernel hands each connection to one of the two; both echo.
    assert_eq!(round_trip(addr, b"shared port"), b"shared port");
}

#[test]
fn without_reuse_port_a_second_server_cannot_bind_the_port() {
    let first = TcpServer::bind(LOOPBACK, echo()).unwrap();
    let addr = *first.server_address();
    let error = TcpServer::bind(addr, echo()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
}

#[test]
fn a_server_with_a_backlog_of_one_serves() {
    let server = TcpServer::builder(echo())
        .backlog(1)
        .bind(LOOPBACK)
        .unwrap();
    let running = serve(server);
    for i in 0..3 {
        let request = format!("request {i}");
        assert_eq!(
            round_trip(running.addr(), request.as_bytes()),
            request.as_bytes()
        );
    }
}

#[test]
fn nodelay_sets_tcp_nodelay_on_each_connection() {
    let server = TcpServer::builder(reply_with(|req| Ok(req.stream().nodelay()?.to_string())))
        .nodelay(true)
        .bind(LOOPBACK)
        .unwrap();
    let running = serve(server);
    assert_eq!(reply_to_nothing(running.addr()), "true");
}

#[test]
fn connections_keep_nagle_by_default() {
    let server = TcpServer::bind(
        LOOPBACK,
        reply_with(|req| Ok(req.stream().nodelay()?.to_string())),
    )
    .unwrap();
    let running = serve(server);
    assert_eq!(reply_to_nothing(running.addr()), "false");
}

#[test]
fn an_option_set_on_the_unbound_socket_applies_to_the_server() {
    let mut unbound = TcpServer::builder(reply_with(|req| Ok(req.stream().ttl()?.to_string())))
        .unbound(LOOPBACK)
        .unwrap();
    unbound.socket().set_ttl_v4(42).unwrap();
    unbound.server_bind().unwrap();
    let server = unbound.server_activate().unwrap();
    assert_ne!(server.server_address().port(), 0);
    let running = serve(server);
    // Accepted connections inherit the listening socket's TTL.
    assert_eq!(reply_to_nothing(running.addr()), "42");
}

#[test]
fn server_activate_binds_an_unbound_server_itself() {
    let unbound = TcpServer::builder(echo()).unbound(LOOPBACK).unwrap();
    let server = unbound.server_activate().unwrap();
    assert_ne!(server.server_address().port(), 0);
    let running = serve(server);
    assert_eq!(round_trip(running.addr(), b"activated"), b"activated");
}

#[test]
fn from_listener_adopts_the_listener_and_its_address() {
    let listener = TcpListener::bind(LOOPBACK).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = TcpServer::builder(echo()).from_listener(listener).unwrap();
    assert_eq!(*server.server_address(), addr);
    let _running = serve(server);
    assert_eq!(round_trip(addr, b"adopted"), b"adopted");
}

#[test]
fn from_listener_serves_a_connection_queued_before_the_server_existed() {
    let listener = TcpListener::bind(LOOPBACK).unwrap();
    let addr = listener.local_addr().unwrap();
    // Queued: no readiness event will ever announce this connection.
    let mut early = connect(addr);
    early.write_all(b"early bird").unwrap();
    early.shutdown(Shutdown::Write).unwrap();
    let server = TcpServer::builder(echo()).from_listener(listener).unwrap();
    let _running = serve(server);
    assert_eq!(read_to_end(&mut early), b"early bird");
}

#[test]
fn tcp_server_bind_binds_and_serves() {
    let server = TcpServer::bind(("127.0.0.1", 0), echo()).unwrap();
    let running = serve(server);
    assert_eq!(round_trip(running.addr(), b"synchronous"), b"synchronous");
}

#[test]
fn threading_tcp_server_bind_binds_and_serves() {
    let server = ThreadingTcpServer::bind(("127.0.0.1", 0), echo()).unwrap();
    let running = serve(server);
    assert_eq!(round_trip(running.addr(), b"threading"), b"threading");
}

#[test]
fn a_bind_error_keeps_the_operating_system_error_as_its_source() {
    let busy = TcpListener::bind(LOOPBACK).unwrap();
    let addr = busy.local_addr().unwrap();
    let error = TcpServer::bind(addr, echo()).unwrap_err();
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
    let source = std::error::Error::source(error.get_ref().unwrap()).unwrap();
    let os_error = source.downcast_ref::<io::Error>().unwrap();
    assert!(os_error.raw_os_error().is_some(), "{os_error:?}");
}

#[test]
fn server_bind_reads_back_the_real_port() {
    let mut unbound = TcpServer::builder(echo()).unbound(LOOPBACK).unwrap();
    assert_eq!(unbound.server_address().port(), 0);
    unbound.server_bind().unwrap();
    let bound = unbound.server_address();
    assert_ne!(bound.port(), 0);
    let server = unbound.server_activate().unwrap();
    assert_eq!(*server.server_address(), bound);
}

#[test]
fn a_zero_connection_timeout_is_refused_when_binding() {
    // To setsockopt a zero timeout would mean "never time out"; refuse it.
    let error = TcpServer::builder(echo())
        .timeout(Some(std::time::Duration::ZERO))
        .bind(LOOPBACK)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
}

#[test]
fn from_listener_refuses_a_socket_that_is_not_listening() {
    // Accepting on it would fail forever (EINVAL): refuse it up front.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let error = TcpServer::builder(echo())
        .from_listener(TcpListener::from(socket))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
}
