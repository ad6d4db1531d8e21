//! Peer: a `tokio` TCP echo server as `tokio`'s own `examples/echo.rs` writes
//! it: a task per connection that reads into its buffer and `write_all`s it
//! back.
//!
//! ```text
//! tokio_echo [--addr] ADDR [--flavor multi|current] [--workers N]
//! tokio_echo 127.0.0.1:0 --flavor multi --workers 2
//! ```
//!
//! `--flavor multi` (the default) runs the multi-thread runtime with `N`
//! workers (by default the number of CPUs this process may run on);
//! `--flavor current` runs the current-thread runtime. Says
//! `listening on ADDR` on standard error once it accepts, and runs until
//! killed.

use socketserver_bench::peer::{BUFFER_SIZE, PeerArgs, tokio_runtime};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "tokio_echo [--addr] ADDR [--flavor multi|current] [--workers N]";

async fn serve(mut stream: TcpStream) {
    let mut buffer = vec![0; BUFFER_SIZE];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn run(addr: String) -> io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve(stream));
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

fn main() -> io::Result<()> {
    let args = PeerArgs::parse(&["flavor", "workers"], USAGE);
    let runtime = tokio_runtime(&args, USAGE)?;
    runtime.block_on(run(args.addr))
}
