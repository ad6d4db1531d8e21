//! Every key of the worker pool, set away from its default and observed in the
//! builder's settings; then the server serves a request on a worker.

use socketserver::{PoolTcpServer, StreamRequest, handle, server};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

#[server(
    transport = "tcp",
    concurrency = "pool",
    workers = 3,
    queue = 5,
    max_connections = 7,
    timeout = "7s",
    shutdown_timeout = "2s"
)]
struct Report;

impl Report {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        let worker = thread::current().name().unwrap_or_default().to_owned();
        req.wfile().write_all(worker.as_bytes())
    }
}

fn main() -> io::Result<()> {
    let settings = format!("{:?}", Report.builder());
    for expected in [
        "Pool { workers: 3, queue: 5, threads: 0 }",
        "max_connections: Some(7)",
        "shutdown_timeout: 2s",
        "timeout: Some(7s)",
    ] {
        assert!(settings.contains(expected), "no `{expected}` in {settings}");
    }

    // The annotation checks the concurrency model the attribute chose.
    let mut server: PoolTcpServer<Report> = Report.bind("127.0.0.1:0")?;
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
    assert_eq!(reply, "socketserver-worker");
    assert_eq!(server.concurrency().threads(), 1);
    Ok(())
}
