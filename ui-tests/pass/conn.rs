//! A buffer-shaped handler with the attributes: `conn = "Lines"` makes the
//! server's requests `Conn<Lines>`, the state each connection keeps; the
//! `setup` hook takes the same type. Served under `threading`, answering a
//! real connection; the same shape binds under `pool`, on a Unix socket, and
//! on a generic struct whose type parameter is the state.

use socketserver::{Conn, handle, hook, server};
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::thread;

/// What each connection keeps.
#[derive(Default)]
struct Lines {
    seen: u32,
}

#[server(transport = "tcp", concurrency = "threading", conn = "Lines")]
struct Counter;

impl Counter {
    #[handle]
    fn handle(&self, conn: &mut Conn<Lines>) -> io::Result<()> {
        let (input, output, lines) = conn.parts();
        while let Some(line) = input.line(256)? {
            lines.seen += 1;
            write!(output, "{} ", lines.seen)?;
            output.write_all(line)?;
        }
        Ok(())
    }

    #[hook]
    fn setup(&self, conn: &mut Conn<Lines>) -> io::Result<()> {
        conn.write(b"hello\n");
        Ok(())
    }
}

#[server(transport = "tcp", concurrency = "pool", conn = "()")]
struct Pooled;

impl Pooled {
    #[handle]
    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        let (input, output, ()) = conn.parts();
        output.write_all(input.bytes())?;
        let n = input.bytes().len();
        input.consume(n);
        Ok(())
    }
}

#[server(transport = "unix", concurrency = "sync", conn = "u8")]
struct OnUnix;

impl OnUnix {
    #[handle]
    fn handle(&self, conn: &mut Conn<u8, std::os::unix::net::UnixStream>) -> io::Result<()> {
        *conn.state() += 1;
        Ok(())
    }
}

/// A generic server whose connections keep a state of its type parameter.
#[server(transport = "tcp", concurrency = "threading", conn = "T")]
struct Generic<T: Default + Send + Sync + 'static> {
    _state: std::marker::PhantomData<T>,
}

impl<T: Default + Send + Sync + 'static> Generic<T> {
    #[handle]
    fn handle(&self, conn: &mut Conn<T>) -> io::Result<()> {
        let _: &mut T = conn.state();
        Ok(())
    }

    #[hook]
    fn verify_request(&self, _client: &std::net::SocketAddr) -> bool {
        true
    }
}

fn main() -> io::Result<()> {
    let mut server = Counter.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let handle = server.shutdown_handle();
    let serving = thread::spawn(move || server.serve_forever());
    let mut client = TcpStream::connect(addr)?;
    client.write_all(b"a\nb\n")?;
    client.shutdown(std::net::Shutdown::Write)?;
    let replies: Vec<String> = BufReader::new(client).lines().collect::<Result<_, _>>()?;
    assert_eq!(replies, ["hello", "1 a", "2 b"]);
    handle.shutdown();
    serving.join().unwrap()?;
    drop(Pooled.bind("127.0.0.1:0")?);
    let _ = OnUnix.builder();
    let generic = Generic::<Vec<u8>> {
        _state: std::marker::PhantomData,
    };
    drop(generic.bind("127.0.0.1:0")?);
    Ok(())
}
