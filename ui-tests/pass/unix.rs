//! A Unix stream server written with the attributes, with the keys of a
//! listening transport and a hook that takes the client's Unix address,
//! answering a real connection in a temporary directory.

use socketserver::{StreamRequest, handle, hook, server};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::{SocketAddr, UnixStream};
use std::thread;
use std::time::Duration;

#[server(
    transport = "unix",
    concurrency = "threading",
    backlog = 16,
    timeout = "20s"
)]
struct Upper;

impl Upper {
    #[handle]
    fn handle(&self, req: &mut StreamRequest<UnixStream>) -> io::Result<()> {
        let (reader, mut writer) = req.split();
        for line in reader.lines() {
            writeln!(writer, "{}", line?.to_uppercase())?;
        }
        Ok(())
    }

    #[hook]
    fn verify_request(&self, client_address: &SocketAddr) -> bool {
        // Clients seldom bind their sockets.
        client_address.is_unnamed()
    }
}

fn main() -> io::Result<()> {
    let dir = std::env::temp_dir().join(format!("socketserver-ui-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("upper.sock");
    let mut server = Upper.bind(path.as_path())?;
    assert_eq!(server.server_address().as_pathname(), Some(path.as_path()));
    let stop = server.shutdown_handle();
    let serving = thread::spawn(move || server.serve_forever());

    let client = UnixStream::connect(&path)?;
    client.set_read_timeout(Some(Duration::from_secs(20)))?;
    (&client).write_all(b"hello\n")?;
    let mut reply = String::new();
    BufReader::new(&client).read_line(&mut reply)?;
    assert_eq!(reply, "HELLO\n");
    drop(client);

    stop.shutdown();
    serving.join().unwrap()?;
    // The server was dropped with its thread: its socket file is gone.
    assert!(!path.exists());
    std::fs::remove_dir(&dir)
}
