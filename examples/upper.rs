//! A line server: each line a client sends comes back upper-cased.
//!
//! The protocol is lines of bytes over TCP, each ending with `\n`. For every
//! line received, the server sends the same line back with its ASCII letters
//! `a`–`z` upper-cased; every other byte (`\r`, UTF-8 sequences, invalid
//! UTF-8) is sent back exactly as it came, so `é` stays `é`. When the client
//! closes its side, a last line without `\n` is upper-cased and sent too, then
//! the server closes the connection. A line longer than 64 KiB is sent back in
//! pieces, without waiting for its end.
//!
//! Run it and talk to it with `nc` (or `telnet`):
//!
//! ```text
//! cargo run --example upper                     # listens on 127.0.0.1:7008
//! nc 127.0.0.1 7008                             # type `hello`, get `HELLO`
//! printf 'one\ntwo' | nc -N 127.0.0.1 7008      # prints ONE and TWO
//! ```
//!
//! `--mode threading` (the default) serves each client on a thread of its own;
//! `--mode sync` serves one client at a time; `--mode pool` serves them on a
//! bounded pool of worker threads. Ctrl-C or SIGTERM stops the server
//! cleanly, within about two seconds even when clients are still connected.
//! `RUST_LOG=debug` logs every connection.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{StreamRequest, handle, server};
use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

/// TCP line server: each line a client sends is sent back upper-cased.
///
/// The protocol is lines of bytes, each ending with `\n`. For every line
/// received, the same line is sent back with its ASCII letters a-z upper-cased
/// and every other byte (non-ASCII UTF-8, invalid UTF-8, `\r`) unchanged. When
/// the client closes its side, a last line without `\n` is upper-cased and sent
/// too, then the server closes the connection. Lines longer than 64 KiB are sent
/// back in pieces.
#[derive(Parser, Debug)]
#[command(version, after_help = "Try it: nc 127.0.0.1 7008")]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7008")]
    addr: String,

    #[command(flatten)]
    options: common::Options,
}

/// The longest piece of a line held before it is sent back: it bounds the
/// memory a client without newlines can make a connection use.
const MAX_PIECE: u64 = 64 * 1024;

/// The upper-casing service: stateless, so one value serves every connection.
#[server(transport = "tcp", concurrency = "threading")]
#[derive(Debug)]
struct Upper;

impl Upper {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        log::debug!("{} connected", req.client_address());
        let mut line = Vec::new();
        let mut lines: u64 = 0;
        loop {
            line.clear();
            // Bytes, not `String`: invalid UTF-8 must not end the connection.
            let n = req.rfile().take(MAX_PIECE).read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            line.make_ascii_uppercase();
            // Sent before `rfile` next waits for input, or when we return.
            req.wfile().write_all(&line)?;
            if line.ends_with(b"\n") {
                lines += 1;
            }
        }
        log::debug!("{} done: {lines} lines", req.client_address());
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    common::serve(&cli.addr, &cli.options, Upper.builder())
}
