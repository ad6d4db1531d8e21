//! Every key that applies to TCP with a thread per connection, each set away
//! from its default and observed where the server shows it: the socket options
//! on the connection the handler gets, the rest in the builder's settings.

use socketserver::{StreamRequest, ThreadingTcpServer, handle, server};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

#[server(
    transport = "tcp",
    concurrency = "threading",
    backlog = 8,
    reuse_address = false,
    reuse_port = true,
    nodelay = true,
    timeout = "7s",
    poll_interval = "250ms",
    shutdown_timeout = "2s",
    daemon_threads = true,
    block_on_close = false
)]
struct Report;

impl Report {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let stream = req.stream();
        let line = format!(
            "nodelay={} timeout={:?}",
            stream.nodelay()?,
            stream.read_timeout()?
        );
        req.wfile().write_all(line.as_bytes())
    }
}

fn main() -> io::Result<()> {
    let settings = format!("{:?}", Report.builder());
    for expected in [
        "daemon_threads: true",
        "block_on_close: false",
        "backlog: 8",
        "reuse_address: false",
        "reuse_port: true",
        "nodelay: true",
        "poll_interval: 250ms",
        "shutdown_timeout: 2s",
        "timeout: Some(7s)",
    ] {
        assert!(settings.contains(expected), "no `{expected}` in {settings}");
    }

    // The annotation checks the concurrency model the attribute chose.
    let mut server: ThreadingTcpServer<Report> = Report.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let client = thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    let reply = client.join().unwrap()?;
    assert_eq!(reply, "nodelay=true timeout=Some(7s)");
    Ok(())
}
