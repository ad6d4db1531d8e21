//! The load generator: echo round trips, the short-connection rate, UDP round
//! trips or idle connections against one server, as one JSON line on standard
//! output. See [`socketserver_bench::loadgen`] for what each mode does.
//!
//! ```text
//! loadgen --addr HOST:PORT [--mode echo|connect|udp|idle] [--connections N]
//!         [--threads T] [--size BYTES] [--warmup SECS] [--duration SECS]
//!         [--connect-timeout SECS] [--udp-timeout-ms MS]
//! loadgen --addr 127.0.0.1:7100 --mode echo --connections 1000 --duration 5
//! ```
//!
//! Exits with status 1 and a message if the server cannot be reached at all,
//! if the connections cannot be opened (for want of file descriptors: raise
//! `ulimit -n`), or if no request completed.

use socketserver_bench::loadgen::{self, Config};
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match loadgen::run(&config) {
        Ok(report) => {
            println!("{}", report.to_json());
            if report.requests == 0 {
                eprintln!("loadgen: no request completed against {}", config.addr);
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
