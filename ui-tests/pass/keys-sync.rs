//! The keys of a server that serves one request at a time, observed on the
//! connection the handler gets and in the builder's settings.

use socketserver::{StreamRequest, TcpServer, handle, server};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

#[server(
    concurrency = "sync",
    backlog = 4,
    reuse_address = true,
    reuse_port = false,
    nodelay = false,
    timeout = "1.5s",
    poll_interval = "10ms",
    shutdown_timeout = "1m"
)]
struct Report;

impl Report {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let stream = req.stream();
        let line = format!(
            "nodelay={} timeout={:?}",
            stream.nodelay()?,
            stream.write_timeout()?
        );
        req.wfile().write_all(line.as_bytes())
    }
}

fn main() -> io::Result<()> {
    let settings = format!("{:?}", Report.builder());
    for expected in [
        "Synchronous",
        "backlog: 4",
        "reuse_address: true",
        "reuse_port: false",
        "nodelay: false",
        "poll_interval: 10ms",
        "shutdown_timeout: 60s",
        "timeout: Some(1.5s)",
    ] {
        assert!(settings.contains(expected), "no `{expected}` in {settings}");
    }

    // The annotation checks the concurrency model the attribute chose.
    let mut server: TcpServer<Report> = Report.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    let reply = client.join().unwrap()?;
    assert_eq!(reply, "nodelay=false timeout=Some(1.5s)");
    Ok(())
}
