//! A Unix datagram server written with the attributes, with the datagram
//! keys, answering a real datagram in a temporary directory.

use socketserver::{DatagramRequest, handle, server};
use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::thread;
use std::time::Duration;

#[server(
    transport = "unix_datagram",
    concurrency = "sync",
    max_packet_size = 1500
)]
struct Upper;

impl Upper {
    #[handle]
    fn handle(&self, req: &mut DatagramRequest<UnixDatagram>) -> io::Result<()> {
        let reply = req.packet().to_ascii_uppercase();
        req.wfile().write_all(&reply)
    }
}

fn main() -> io::Result<()> {
    let dir =
        std::env::temp_dir().join(format!("socketserver-ui-unix-dgram-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("upper.sock");
    let mut server = Upper.bind(path.as_path())?;
    let stop = server.shutdown_handle();
    let serving = thread::spawn(move || server.serve_forever());

    // Bound to a path of its own, so that the reply can reach it.
    let client_path = dir.join("client.sock");
    let client = UnixDatagram::bind(&client_path)?;
    client.set_read_timeout(Some(Duration::from_secs(20)))?;
    client.send_to(b"hello", &path)?;
    let mut reply = [0; 16];
    let n = client.recv(&mut reply)?;
    assert_eq!(&reply[..n], b"HELLO");
    drop(client);
    std::fs::remove_file(&client_path)?;

    stop.shutdown();
    serving.join().unwrap()?;
    assert!(!path.exists());
    std::fs::remove_dir(&dir)
}
