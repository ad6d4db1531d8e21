//! A UDP echo server: every datagram a client sends comes back to it, unchanged.
//!
//! The protocol is UDP datagrams: each one received is sent back, as one
//! datagram, to the address it came from. A datagram longer than
//! `--max-packet-size` bytes (default 8192) is echoed cut to that length, and
//! the server logs that it was cut.
//!
//! ```text
//! cargo run --example udp_echo                  # listens on 127.0.0.1:7010
//! nc -u 127.0.0.1 7010                          # type lines: they come back
//! ```
//!
//! `--mode threading` (the default) serves each datagram on a thread of its
//! own; `--mode sync` serves one at a time; `--mode event` serves them on
//! event loops, one per CPU. Ctrl-C or SIGTERM stops the server
//! cleanly. `RUST_LOG=debug` logs every datagram.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{DatagramRequest, handle, server};
use std::io::{self, Write};
use std::process::ExitCode;

/// UDP echo server: every datagram a client sends is sent back to it unchanged.
///
/// Each datagram received is sent back as one datagram to the address it came
/// from. A datagram longer than --max-packet-size is echoed cut to that length
/// (and the server logs it).
#[derive(Parser, Debug)]
#[command(version, after_help = "Try it: nc -u 127.0.0.1 7010")]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7010")]
    addr: String,

    /// The longest datagram received whole, in bytes (1 to 65507).
    #[arg(long, value_name = "BYTES", default_value_t = 8192,
          value_parser = clap::value_parser!(u16).range(1..=65507))]
    max_packet_size: u16,

    #[command(flatten)]
    options: common::Options,
}

/// The echo service: stateless, so one value serves every datagram.
#[server(transport = "udp", concurrency = "threading")]
#[derive(Debug)]
struct Echo;

impl Echo {
    #[handle]
    fn handle(&self, req: &mut DatagramRequest) -> io::Result<()> {
        log::debug!("{} bytes from {}", req.packet().len(), req.client_address());
        // Sent back as one datagram when the handler returns.
        let packet = req.packet().to_vec();
        req.wfile().write_all(&packet)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    let builder = Echo.builder().max_packet_size(cli.max_packet_size.into());
    common::serve_all(&cli.addr, &cli.options, builder)
}
