//! Peer: a `tokio` + `hyper` HTTP/1.1 server answering `Hello, World!` to
//! every request, as hyper's own `examples/hello.rs` writes it, the peer of
//! our `http_hello` (issue 10).
//!
//! ```text
//! hyper_hello [--addr] ADDR [--flavor multi|current] [--workers N]
//! ```
//!
//! Keep-alive and pipelining as hyper does them. Says `listening on ADDR` on
//! standard error once it accepts, and runs until killed.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use socketserver_bench::peer::{PeerArgs, tokio_runtime};
use std::convert::Infallible;
use std::io;
use tokio::net::TcpListener;

const USAGE: &str = "hyper_hello [--addr] ADDR [--flavor multi|current] [--workers N]";

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

async fn run(addr: String) -> io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

fn main() -> io::Result<()> {
    let args = PeerArgs::parse(&["flavor", "workers"], USAGE);
    let runtime = tokio_runtime(&args, USAGE)?;
    runtime.block_on(run(args.addr))
}
