//! The UDP transport and `DatagramRequest`: Python's `UDPServer`, each datagram
//! a request, the reply one datagram sent when the handler returns.

use socketserver::{DatagramRequest, Service, ThreadingUdpServer, UdpServer, handler_fn};
use socketserver_tests::{BOUND, serve, wait_until};
use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Replies to each datagram with it upper-cased.
fn upper() -> impl Service<Request = DatagramRequest> {
    handler_fn(|req: &mut DatagramRequest| {
        let reply = req.packet().to_ascii_uppercase();
        req.wfile().write_all(&reply)
    })
}

/// A client socket on the same loopback as `server`, with a bounded read.
fn client_for(server: SocketAddr) -> UdpSocket {
    let local: SocketAddr = if server.is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    }
    .parse()
    .unwrap();
    let socket = UdpSocket::bind(local).unwrap();
    socket.set_read_timeout(Some(BOUND)).unwrap();
    socket.connect(server).unwrap();
    socket
}

/// Sends `request` and returns the one datagram that comes back.
fn exchange(client: &UdpSocket, request: &[u8]) -> Vec<u8> {
    client.send(request).unwrap();
    let mut reply = vec![0; 70_000];
    let n = client.recv(&mut reply).expect("a reply datagram");
    reply.truncate(n);
    reply
}

#[test]
fn threading_udp_server_answers_each_datagram() {
    let running = serve(ThreadingUdpServer::bind("127.0.0.1:0", upper()).unwrap());
    let client = client_for(running.addr());
    for word in ["one", "two", "three"] {
        assert_eq!(
            exchange(&client, word.as_bytes()),
            word.to_uppercase().as_bytes()
        );
    }
}

#[test]
fn udp_server_answers_over_ipv6() {
    let running = serve(UdpServer::bind("[::1]:0", upper()).unwrap());
    assert!(running.addr().is_ipv6() && running.addr().port() != 0);
    let client = client_for(running.addr());
    assert_eq!(exchange(&client, b"six"), b"SIX");
}

#[test]
fn a_datagram_longer_than_max_packet_size_is_cut_and_says_so() {
    let report = handler_fn(|req: &mut DatagramRequest| {
        let (len, cut) = (req.packet().len(), req.is_truncated());
        write!(req.wfile(), "{len} {cut}")
    });
    let server = UdpServer::builder(report)
        .max_packet_size(16)
        .bind("127.0.0.1:0")
        .unwrap();
    let running = serve(server);
    let client = client_for(running.addr());
    assert_eq!(exchange(&client, &[b'x'; 100]), b"16 true");
    assert_eq!(exchange(&client, &[b'x'; 16]), b"16 false");
    assert_eq!(exchange(&client, &[b'x'; 3]), b"3 false");
}

#[test]
fn max_packet_size_out_of_range_is_refused_at_bind() {
    for size in [0, 65_508] {
        let error = UdpServer::builder(upper())
            .max_packet_size(size)
            .bind("127.0.0.1:0")
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("max_packet_size"), "{error}");
    }
}

#[test]
fn rfile_reads_the_datagram_and_nothing_written_sends_nothing() {
    // Replies with the second line of each datagram; a datagram with one line
    // gets no reply at all.
    let second_line = handler_fn(|req: &mut DatagramRequest| {
        let line = req.rfile().lines().nth(1).transpose()?;
        if let Some(line) = line {
            req.wfile().write_all(line.as_bytes())?;
        }
        Ok(())
    });
    let running = serve(UdpServer::bind("127.0.0.1:0", second_line).unwrap());
    let client = client_for(running.addr());
    client.send(b"only one line").unwrap();
    // Datagrams on loopback arrive in order: had the first been answered, its
    // reply would come first.
    assert_eq!(exchange(&client, b"first\nsecond\n"), b"second");
}

#[test]
fn verify_request_drops_refused_datagrams() {
    struct EveryOther(AtomicUsize);
    impl Service for EveryOther {
        type Request = DatagramRequest;
        fn handle(&self, req: &mut DatagramRequest) -> io::Result<()> {
            let reply = req.packet().to_vec();
            req.wfile().write_all(&reply)
        }
        fn verify_request(&self, _: &SocketAddr) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst) % 2 == 1
        }
    }
    let running = serve(UdpServer::bind("127.0.0.1:0", EveryOther(AtomicUsize::new(0))).unwrap());
    let client = client_for(running.addr());
    client.send(b"refused").unwrap();
    assert_eq!(exchange(&client, b"served"), b"served");
}

#[test]
fn a_failing_handler_does_not_stop_the_server() {
    let failing = handler_fn(|req: &mut DatagramRequest| {
        if req.packet() == b"fail" {
            return Err(io::Error::other("refusing on purpose"));
        }
        if req.packet() == b"panic" {
            panic!("panicking on purpose");
        }
        req.wfile().write_all(b"ok")
    });
    let running = serve(ThreadingUdpServer::bind("127.0.0.1:0", failing).unwrap());
    let client = client_for(running.addr());
    client.send(b"fail").unwrap();
    client.send(b"panic").unwrap();
    assert_eq!(exchange(&client, b"fine"), b"ok");
}

#[test]
fn handle_request_serves_exactly_one_datagram() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let counting = handler_fn(move |req: &mut DatagramRequest| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        write!(req.wfile(), "{n}")
    });
    let mut server = UdpServer::bind("127.0.0.1:0", counting).unwrap();
    let client = client_for(*server.server_address());
    client.send(b"a").unwrap();
    client.send(b"b").unwrap();
    server.handle_request().unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    server.handle_request().unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let mut reply = [0; 8];
    let n = client.recv(&mut reply).unwrap();
    assert_eq!(&reply[..n], b"1");
}

#[test]
fn from_listener_adopts_a_bound_udp_socket() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let server = UdpServer::builder(upper()).from_listener(socket).unwrap();
    assert_eq!(*server.server_address(), addr);
    let _running = serve(server);
    assert_eq!(exchange(&client_for(addr), b"adopted"), b"ADOPTED");
}

#[test]
fn from_listener_refuses_a_tcp_socket() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let error = UdpServer::builder(upper())
        .from_listener(listener)
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn closing_waits_for_datagram_handlers() {
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let (s, f) = (Arc::clone(&started), Arc::clone(&finished));
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let wait = std::sync::Mutex::new(wait);
    let slow = handler_fn(move |_: &mut DatagramRequest| {
        s.fetch_add(1, Ordering::SeqCst);
        let _ = wait.lock().unwrap().recv_timeout(BOUND);
        f.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let running = serve(ThreadingUdpServer::bind("127.0.0.1:0", slow).unwrap());
    client_for(running.addr()).send(b"x").unwrap();
    wait_until("the handler runs", || started.load(Ordering::SeqCst) == 1);
    let handle = running.handle();
    let closing = thread::spawn(move || drop(running));
    wait_until("the loop has stopped", || !handle.is_serving());
    // Closing waits for the handler, which has not finished.
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    release.send(()).unwrap();
    closing.join().unwrap();
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}
