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
//! What it takes (RFC 9112): a request line `METHOD TARGET HTTP/1.1` (or
//! `HTTP/1.0`), header lines with one `Host` (HTTP/1.1 must send it), an
//! empty line, and a body only as `Content-Length` says (digits only, the
//! same in every copy; up to 1 MiB, read and ignored). Lines may end with
//! CR LF or LF alone; empty lines before a request are skipped. A client
//! that sends `Expect: 100-continue` is told `100 Continue` before it sends
//! its body. Connections stay open (HTTP/1.1, unless the client says
//! `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`, which
//! the response then says too), and requests sent back to back (pipelined)
//! are answered in order. Every response has a `Date`.
//!
//! A malformed request gets `400 Bad Request` and the connection closes; a
//! head over 8 KiB gets `431`, a body over 1 MiB `413`, an expectation other
//! than `100-continue` `417`, a body sent in chunks (`Transfer-Encoding`) or
//! `CONNECT` `501`; each closes too, and each is logged.
//!
//! The handler is buffer-shaped, so `--mode` takes every model: `threading`
//! (the default), `pool`, `event`, `sync`, `forking`.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, handle, server};
use std::cell::Cell;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// The server. Each connection keeps whether it answered the current
/// request's `Expect: 100-continue`.
#[server(transport = "tcp", concurrency = "threading", conn = "bool")]
#[derive(Debug)]
struct Hello;

/// One request's head, as far as answering it needs.
struct Head {
    /// Bytes of the head (and of empty lines before it), its empty line
    /// included.
    len: usize,
    head_only: bool,
    keep_alive: bool,
    /// An HTTP/1.0 request: a connection kept open says so.
    http10: bool,
    /// The client waits for `100 Continue` before it sends the body.
    expects_continue: bool,
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
    fn handle(&self, conn: &mut Conn<bool>) -> io::Result<()> {
        loop {
            // Pipelined requests wait while replies pile up (a client that
            // sends without reading holds no more than this).
            if conn.output().len() >= MAX_QUEUED {
                conn.resume_when_sent();
                return Ok(());
            }
            let (input, output, continued) = conn.parts();
            // Room for a head and the largest body, which waits whole.
            input.set_limit(MAX_HEAD + MAX_BODY);
            let head = match parse(input.bytes(), input.is_ended()) {
                Ok(Some(head)) => head,
                // The rest of the request has not come yet.
                Ok(None) => return Ok(()),
                Err(refusal) => {
                    let body = format!("{}\n", refusal.reason);
                    write!(
                        output,
                        "HTTP/1.1 {}\r\nDate: {}\r\nContent-Type: text/plain\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        refusal.status,
                        date(),
                        body.len()
                    )?;
                    let client = conn.client_address();
                    log::warn!("{client}: {}: {}", refusal.status, refusal.reason);
                    conn.close();
                    return Ok(());
                }
            };
            if input.bytes().len() < head.len + head.body {
                // The body has not all come: a client that waits to be told
                // to send it is told, once.
                if head.expects_continue && !*continued {
                    *continued = true;
                    output.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
                }
                return Ok(());
            }
            *continued = false;
            input.consume(head.len + head.body);
            let connection = match (head.keep_alive, head.http10) {
                (false, _) => "Connection: close\r\n",
                (true, true) => "Connection: keep-alive\r\n",
                (true, false) => "",
            };
            write!(
                output,
                "HTTP/1.1 200 OK\r\nDate: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 {connection}\r\n",
                date(),
                BODY.len(),
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

/// An HTTP date: always 29 bytes (`Sun, 06 Nov 1994 08:49:37 GMT`).
#[derive(Clone, Copy)]
struct HttpDate([u8; 29]);

impl std::fmt::Display for HttpDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.0).unwrap_or_default())
    }
}

thread_local! {
    /// The `Date` of this second, made once a second per thread.
    static DATE: Cell<(u64, HttpDate)> = const { Cell::new((u64::MAX, HttpDate([b' '; 29]))) };
}

/// Now, as a `Date` header says it (RFC 9110: every response of a server
/// with a clock has one).
fn date() -> HttpDate {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|date| {
        let (cached, text) = date.get();
        if cached == second {
            return text;
        }
        let mut text = HttpDate([b' '; 29]);
        let made = httpdate::fmt_http_date(now);
        let len = made.len().min(text.0.len());
        text.0[..len].copy_from_slice(&made.as_bytes()[..len]);
        date.set((second, text));
        text
    })
}

/// Where the head that starts at `from` ends (after its empty line), if it
/// has come: lines end with CR LF, or LF alone (RFC 9112 allows both).
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut line_start = from;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        if b != b'\n' {
            continue;
        }
        let line = &bytes[line_start..i];
        if (line.is_empty() || line == b"\r") && line_start > from {
            return Some(i + 1);
        }
        line_start = i + 1;
    }
    None
}

/// The first request of `bytes` (its head, with whether its body has all
/// come): `None` until its head has.
fn parse(bytes: &[u8], ended: bool) -> Result<Option<Head>, Refusal> {
    // Empty lines before a request are skipped (RFC 9112, section 2.2).
    let from = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    let Some(end) = head_end(bytes, from) else {
        if bytes.len() - from > MAX_HEAD {
            return Err(refusal(
                "431 Request Header Fields Too Large",
                "a request head over 8 KiB",
            ));
        }
        if ended && from < bytes.len() {
            return Err(refusal(
                "400 Bad Request",
                "the request ended inside its head",
            ));
        }
        return Ok(None);
    };
    if end - from > MAX_HEAD {
        return Err(refusal(
            "431 Request Header Fields Too Large",
            "a request head over 8 KiB",
        ));
    }
    let head = std::str::from_utf8(&bytes[from..end])
        .map_err(|_| refusal("400 Bad Request", "a request head that is not text"))?;
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .take_while(|line| !line.is_empty());
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
    if method == "CONNECT" {
        // Its 200 would open a tunnel.
        return Err(refusal("501 Not Implemented", "CONNECT: no tunnels here"));
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
    let mut body = None;
    let mut hosts = 0;
    let mut expects_continue = false;
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
        if value.contains('\r') {
            return Err(refusal("400 Bad Request", "a CR inside a header line"));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            // Digits only, and the same in every copy: what else would let
            // a body be read as the next request.
            let length = value
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| {
                    refusal("400 Bad Request", format!("a bad Content-Length {value:?}"))
                })?;
            if body.is_some_and(|earlier| earlier != length) {
                return Err(refusal("400 Bad Request", "Content-Lengths that differ"));
            }
            body = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(refusal("501 Not Implemented", "a body in chunks"));
        } else if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("expect") && !http10 {
            if !value.eq_ignore_ascii_case("100-continue") {
                return Err(refusal(
                    "417 Expectation Failed",
                    format!("an expectation {value:?}"),
                ));
            }
            expects_continue = true;
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
    // RFC 9112, section 3.2: one Host, which HTTP/1.1 must send.
    if hosts > 1 || (hosts == 0 && !http10) {
        return Err(refusal(
            "400 Bad Request",
            format!("{hosts} Host headers, where there must be one"),
        ));
    }
    let body = body.unwrap_or(0);
    if body > MAX_BODY as u64 {
        return Err(refusal(
            "413 Content Too Large",
            format!("a body of {body} bytes, over the 1 MiB taken"),
        ));
    }
    let body = body as usize;
    if ended && bytes.len() < end + body {
        return Err(refusal(
            "400 Bad Request",
            "the request ended inside its body",
        ));
    }
    Ok(Some(Head {
        len: end,
        head_only: method == "HEAD",
        keep_alive,
        http10,
        expects_continue,
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
