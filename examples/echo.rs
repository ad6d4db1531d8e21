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
//! worker threads. Ctrl-C or SIGTERM stops the server cleanly, within about
//! two seconds even when clients are still connected.
//! `RUST_LOG=debug` logs every connection.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{StreamRequest, handle, server};
use std::io;
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

/// The echo service: stateless, so one value serves every connection.
#[server(transport = "tcp", concurrency = "threading")]
#[derive(Debug)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
        log::debug!("{} connected", req.client_address());
        // The request's own buffers carry the bytes: what the reader takes in
        // goes to the writer, which sends it before the reader waits again.
        let (mut reader, mut writer) = req.split();
        let echoed = reader.copy_to(&mut writer)?;
        log::debug!("{} done: {echoed} bytes echoed", req.client_address());
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    common::serve(&cli.addr, &cli.options, Echo.builder())
}
