//! An HTTP/1.1 server that answers every request with `Hello, World!`: keep-
//! alive, pipelining, and a `400` for a malformed request.
//!
//! ```text
//! cargo run --example http_hello                  # listens on 127.0.0.1:7012
//! curl http://127.0.0.1:7012/
//! wrk -c 50 -d 5 http://127.0.0.1:7012/           # load, over keep-alive connections
//! cargo run --example http_hello -- --mode event  # the same handler on event loops
//! ```
//!
//! What it takes: a request line `METHOD TARGET HTTP/1.1` (or `HTTP/1.0`),
//! header lines, an empty line, and a body only as `Content-Length` says (up
//! to 1 MiB, read and ignored). Connections stay open (HTTP/1.1, unless the
//! client says `Connection: close`; HTTP/1.0 only with `Connection:
//! keep-alive`), and requests sent back to back (pipelined) are answered in
//! order. A malformed request gets `400 Bad Request` and the connection
//! closes; a request whose head is over 8 KiB gets `431`, a body sent in
//! chunks (`Transfer-Encoding`) `501`; each closes too.
//!
//! The handler is buffer-shaped, so `--mode` takes every model: `threading`
//! (the default), `pool`, `event`, `sync`, `forking`.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, handle, server};
use std::io::{self, Write};
use std::process::ExitCode;

/// The longest request head (request line and headers).
const MAX_HEAD: usize = 8 * 1024;
/// The longest body accepted (and ignored).
const MAX_BODY: usize = 1024 * 1024;
const BODY: &[u8] = b"Hello, World!";
/// How much of the replies to pipelined requests is queued at once: the
/// next requests wait until it has gone.
const MAX_QUEUED: usize = 64 * 1024;

/// HTTP/1.1 server answering `Hello, World!` to every request.
#[derive(Parser, Debug)]
#[command(version, after_help = "Try it: curl http://127.0.0.1:7012/")]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7012")]
    addr: String,

    #[command(flatten)]
    options: common::Options,
}

#[server(transport = "tcp", concurrency = "threading", conn = "()")]
#[derive(Debug)]
struct Hello;

/// One request's head, as far as answering it needs.
struct Head {
    /// Bytes of the head, its empty line included.
    len: usize,
    head_only: bool,
    keep_alive: bool,
    body: usize,
}

/// Why a request cannot be answered with `200`: its status line and reason.
struct Refusal {
    status: &'static str,
    reason: String,
}

fn refusal(status: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
    }
}

impl Hello {
    /// Called with what has come: answers each whole request, in order.
    #[handle]
    fn handle(&self, conn: &mut Conn) -> io::Result<()> {
        loop {
            // Pipelined requests wait while replies pile up (a client that
            // sends without reading holds no more than this).
            if conn.output().len() >= MAX_QUEUED {
                conn.resume_when_sent();
                return Ok(());
            }
            let (input, output, ()) = conn.parts();
            // Room for a head and the largest body, which waits whole.
            input.set_limit(MAX_HEAD + MAX_BODY);
            let head = match parse(input.bytes(), input.is_ended()) {
                Ok(Some(head)) => head,
                // The rest of the request (or its body) has not come yet.
                Ok(None) => return Ok(()),
                Err(refusal) => {
                    let body = format!("{}\n", refusal.reason);
                    write!(
                        output,
                        "HTTP/1.1 {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        refusal.status,
                        body.len()
                    )?;
                    let client = conn.client_address();
                    log::warn!("{client}: {}: {}", refusal.status, refusal.reason);
                    conn.close();
                    return Ok(());
                }
            };
            input.consume(head.len + head.body);
            write!(
                output,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n",
                BODY.len(),
                if head.keep_alive {
                    ""
                } else {
                    "Connection: close\r\n"
                }
            )?;
            if !head.head_only {
                output.write_all(BODY)?;
            }
            if !head.keep_alive {
                conn.close();
                return Ok(());
            }
        }
    }
}

/// The first request of `bytes`: `None` until its head and body have come.
fn parse(bytes: &[u8], ended: bool) -> Result<Option<Head>, Refusal> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        if bytes.len() > MAX_HEAD {
            return Err(refusal(
                "431 Request Header Fields Too Large",
                "a request head over 8 KiB",
            ));
        }
        if ended && !bytes.is_empty() {
            return Err(refusal(
                "400 Bad Request",
                "the request ended inside its head",
            ));
        }
        return Ok(None);
    };
    if end + 4 > MAX_HEAD {
        return Err(refusal(
            "431 Request Header Fields Too Large",
            "a request head over 8 KiB",
        ));
    }
    let head = std::str::from_utf8(&bytes[..end])
        .map_err(|_| refusal("400 Bad Request", "a request head that is not text"))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refusal(
            "400 Bad Request",
            format!("a request line that is not `METHOD TARGET HTTP/1.1`: {request_line:?}"),
        ));
    };
    if method.is_empty() || !method.bytes().all(is_token) || target.is_empty() {
        return Err(refusal("400 Bad Request", "a malformed method or target"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => {
            return Err(refusal(
                "400 Bad Request",
                format!("an unknown version {version:?}"),
            ));
        }
    };
    let mut keep_alive = !http10;
    let mut body = 0usize;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(refusal(
                "400 Bad Request",
                format!("a header line without `:`: {line:?}"),
            ));
        };
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(refusal(
                "400 Bad Request",
                format!("a malformed header name {name:?}"),
            ));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            body = value
                .parse()
                .ok()
                .filter(|&n| n <= MAX_BODY)
                .ok_or_else(|| refusal("400 Bad Request", "a bad or too large Content-Length"))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(refusal("501 Not Implemented", "a body in chunks"));
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    let len = end + 4;
    if bytes.len() < len + body {
        if ended {
            return Err(refusal(
                "400 Bad Request",
                "the request ended inside its body",
            ));
        }
        return Ok(None);
    }
    Ok(Some(Head {
        len,
        head_only: method == "HEAD",
        keep_alive,
        body,
    }))
}

/// A character of an HTTP token (a method, a header name).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    // A response that leaves in two writes does not wait on the client's
    // delayed acknowledgement.
    common::serve_all(&cli.addr, &cli.options, Hello.builder().nodelay(true))
}
