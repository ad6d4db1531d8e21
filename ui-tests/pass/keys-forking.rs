//! Every key of the forking model, set away from its default and observed in
//! the builder's settings; then the server serves a request in a child
//! process, and closing it reaps the child.

use socketserver::{ForkingTcpServer, StreamRequest, handle, server};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

#[server(
    transport = "tcp",
    concurrency = "forking",
    max_children = 3,
    timeout = "7s",
    shutdown_timeout = "2s"
)]
struct Report;

impl Report {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        write!(req.wfile(), "{}", std::process::id())
    }
}

fn main() -> io::Result<()> {
    let settings = format!("{:?}", Report.builder());
    for expected in [
        "Forking { max_children: 3, children: 0 }",
        "shutdown_timeout: 2s",
        "timeout: Some(7s)",
    ] {
        assert!(settings.contains(expected), "no `{expected}` in {settings}");
    }

    // The annotation checks the concurrency model the attribute chose.
    let mut server: ForkingTcpServer<Report> = Report.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let client = thread::spawn(move || -> io::Result<String> {
        let mut client = TcpStream::connect(addr)?;
        client.set_read_timeout(Some(Duration::from_secs(20)))?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = String::new();
        client.read_to_string(&mut reply)?;
        Ok(reply)
    });
    server.handle_request()?;
    let reply = client.join().unwrap()?;
    let child: u32 = reply.parse().expect("the child's process id");
    assert_ne!(
        child,
        std::process::id(),
        "served in the server's own process"
    );
    assert!(server.concurrency().children() <= 1);
    // Closing waits for the child and reaps it.
    server.server_close();
    Ok(())
}
