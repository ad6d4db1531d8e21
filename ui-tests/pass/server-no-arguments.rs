//! `#[server]` with no arguments: TCP, a thread per connection, the default
//! settings.

use socketserver::{StreamRequest, ThreadingTcpServer, handle, server};
use std::io;

#[server]
struct Quiet;

impl Quiet {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let settings = format!("{:?}", Quiet.builder());
    for expected in [
        "daemon_threads: false",
        "block_on_close: true",
        "backlog: 1024",
        "reuse_address: true",
        "reuse_port: false",
        "nodelay: false",
        "poll_interval: 500ms",
        "shutdown_timeout: 5s",
        "timeout: None",
    ] {
        assert!(settings.contains(expected), "no `{expected}` in {settings}");
    }
    let server: ThreadingTcpServer<Quiet> = Quiet.bind("127.0.0.1:0")?;
    assert_ne!(server.server_address().port(), 0);
    Ok(())
}
