//! Descriptor accounting: failed binds and closed servers leave nothing open.
//!
//! Alone in its test binary, and a single test, because it counts the
//! process's open descriptors, which any concurrently running test would change.

use socketserver::{StreamRequest, TcpServer, ThreadingTcpServer, handler_fn};
use socketserver_tests::{open_fds, round_trip, serve};
use std::io::{ErrorKind, Read};
use std::net::TcpListener;

#[test]
fn failed_binds_and_closed_servers_leak_no_descriptor() {
    // Reads what the client sends before closing: closing on unread input
    // would reset the connection under the client's feet.
    let noop = || {
        handler_fn(|req: &mut StreamRequest| {
            req.rfile().read_to_end(&mut Vec::new())?;
            Ok(())
        })
    };
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();

    let before = open_fds();
    for _ in 0..1000 {
        let error = TcpServer::bind(addr, noop()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse);
    }
    assert_eq!(open_fds(), before, "1000 failed binds leaked descriptors");

    // An unbound server whose bind fails closes its socket too.
    for _ in 0..100 {
        let mut unbound = TcpServer::builder(noop()).unbound(addr).unwrap();
        assert!(unbound.server_bind().is_err());
    }
    assert_eq!(open_fds(), before, "failed server_bind leaked descriptors");

    // A server that served and was closed releases its socket, its selector
    // and its connections.
    for _ in 0..20 {
        let running = serve(ThreadingTcpServer::bind("127.0.0.1:0", noop()).unwrap());
        assert_eq!(round_trip(running.addr(), b"x"), b"");
        running.stop().unwrap();
    }
    assert_eq!(open_fds(), before, "closed servers leaked descriptors");
}
