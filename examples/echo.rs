//! An echo server: every byte a client sends comes back to it, unchanged.
//!
//! The protocol is raw bytes over TCP, with no framing: whatever arrives on a
//! connection is written back on it as it comes, binary data included, until
//! the client closes its side; then the server closes the connection too.
//!
//! Run it and talk to it with `nc` (or `telnet`):
//!
//! ```text
//! cargo run --example echo                      # listens on 127.0.0.1:7007
//! nc 127.0.0.1 7007                             # type lines: they come back
//! cargo run --example echo -- --mode sync --addr 127.0.0.1:0 --timeout 30
//! ```
//!
//! `--mode threading` (the default) serves each client on a thread of its own;
//! `--mode sync` serves one client at a time; `--mode forking` serves each in
//! a child process of its own; `--mode pool` serves them on a bounded pool of
//! worker threads; `--mode event` serves them all on event loops, one per
//! CPU. The handler is written once, in the buffer shape (`&mut Conn`), and
//! runs unchanged in every mode. Ctrl-C or SIGTERM stops the server cleanly,
//! within about two seconds even when clients are still connected.
//! `RUST_LOG=debug` logs every connection.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, handle, hook, server};
use std::io::{self, Write};
use std::process::ExitCode;

/// TCP echo server: every byte a client sends is sent back to it unchanged.
///
/// The protocol is raw bytes with no framing: whatever arrives on a connection,
/// binary data included, is written back as it arrives, until the client closes
/// its side of the connection; then the server closes the connection too.
#[derive(Parser, Debug)]
#[command(version, after_help = "Try it: nc 127.0.0.1 7007")]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7007")]
    addr: String,

    #[command(flatten)]
    options: common::Options,
}

/// The echo service: stateless, so one value serves every connection. Each
/// connection counts the bytes it echoed (its `conn` state).
#[server(transport = "tcp", concurrency = "threading", conn = "u64")]
#[derive(Debug)]
struct Echo;

impl Echo {
    /// Called with the bytes received so far: sends them back and consumes
    /// them. The runtime reads and writes; the handler never waits.
    #[handle]
    fn handle(&self, conn: &mut Conn<u64>) -> io::Result<()> {
        let (input, output, echoed) = conn.parts();
        let bytes = input.bytes();
        output.write_all(bytes)?;
        *echoed += bytes.len() as u64;
        let n = bytes.len();
        input.consume(n);
        Ok(())
    }

    #[hook]
    fn setup(&self, conn: &mut Conn<u64>) -> io::Result<()> {
        log::debug!("{} connected", conn.client_address());
        Ok(())
    }

    #[hook]
    fn finish(&self, conn: &mut Conn<u64>) -> io::Result<()> {
        let echoed = *conn.state();
        log::debug!("{} done: {echoed} bytes echoed", conn.client_address());
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    common::serve_all(&cli.addr, &cli.options, Echo.builder())
}
