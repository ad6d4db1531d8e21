//! `concurrency = "event"`: on a stream transport the handler is buffer-shaped,
//! `&mut Conn<T>` with `conn = "T"` and `&mut Conn` (no state) without it;
//! `workers` sets the event loops. Both TCP servers answer a real connection;
//! a UDP server (whose handler takes `&mut DatagramRequest` as under every
//! model), a Unix one and a generic one whose type parameter is the state bind
//! too.

use socketserver::{Conn, DatagramRequest, handle, hook, server};
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

#[server(transport = "tcp", concurrency = "event", conn = "u64", workers = 2)]
struct Numbered;

impl Numbered {
    #[handle]
    fn handle(&self, conn: &mut Conn<u64>) -> io::Result<()> {
        let (input, output, count) = conn.parts();
        while let Some(line) = input.line(256)? {
            *count += 1;
            write!(output, "{count} ")?;
            output.write_all(line)?;
        }
        Ok(())
    }

    #[hook]
    fn setup(&self, conn: &mut Conn<u64>) -> io::Result<()> {
        conn.write(b"hello\n");
        Ok(())
    }
}

#[server(transport = "tcp", concurrency = "event")]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        let (input, output, ()) = conn.parts();
        output.write_all(input.bytes())?;
        let n = input.bytes().len();
        input.consume(n);
        Ok(())
    }
}

#[server(transport = "udp", concurrency = "event", workers = 1)]
struct Datagrams;

impl Datagrams {
    #[handle]
    fn handle(&self, req: &mut DatagramRequest) -> io::Result<()> {
        let packet = req.packet().to_vec();
        req.wfile().write_all(&packet)
    }
}

#[server(transport = "unix", concurrency = "event")]
struct OnUnix;

impl OnUnix {
    #[handle]
    fn handle(&self, conn: &mut Conn<(), std::os::unix::net::UnixStream>) -> io::Result<()> {
        conn.close();
        Ok(())
    }
}

/// A generic server whose connections keep a state of its type parameter.
#[server(transport = "tcp", concurrency = "event", conn = "T")]
struct Generic<T: Default + Send + Sync + 'static> {
    _state: std::marker::PhantomData<T>,
}

impl<T: Default + Send + Sync + 'static> Generic<T> {
    #[handle]
    fn handle(&self, conn: &mut Conn<T>) -> io::Result<()> {
        let _: &mut T = conn.state();
        Ok(())
    }
}

/// Sends `lines` to a server at `addr`, and reads back `replies` lines.
fn round_trip(addr: std::net::SocketAddr, send: &[u8], replies: usize) -> io::Result<Vec<String>> {
    let mut client = TcpStream::connect(addr)?;
    client.set_read_timeout(Some(Duration::from_secs(20)))?;
    client.write_all(send)?;
    let mut reader = BufReader::new(client);
    let mut got = Vec::new();
    for _ in 0..replies {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        got.push(line);
    }
    Ok(got)
}

fn main() -> io::Result<()> {
    let mut server = Numbered.bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let stop = server.shutdown_handle();
    let serving = thread::spawn(move || server.serve_forever());
    assert_eq!(
        round_trip(addr, b"a\nb\n", 3)?,
        ["hello\n", "1 a\n", "2 b\n"]
    );
    stop.shutdown();
    serving.join().unwrap()?;

    let mut server = Echo.builder().workers(1).bind("127.0.0.1:0")?;
    let addr = *server.server_address();
    let stop = server.shutdown_handle();
    let serving = thread::spawn(move || server.serve_forever());
    assert_eq!(round_trip(addr, b"ping\n", 1)?, ["ping\n"]);
    stop.shutdown();
    serving.join().unwrap()?;

    drop(Datagrams.bind("127.0.0.1:0")?);
    let _ = OnUnix.builder();
    let generic = Generic::<Vec<u8>> {
        _state: std::marker::PhantomData,
    };
    drop(generic.bind("127.0.0.1:0")?);
    Ok(())
}
