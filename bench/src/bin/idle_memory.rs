//! Resident memory per idle connection of an echo server.
//!
//! ```text
//! idle_memory N -- SERVER-COMMAND...   ({addr} in it becomes 127.0.0.1:0;
//!                                       the server must say `listening on ADDR`)
//! idle_memory 1000 -- target/release/examples/echo --addr {addr}
//! ```
//!
//! Starts the server, reads its resident memory, opens `N` connections and
//! makes one echo round trip on each (so every connection has been served and
//! holds what a served connection holds), leaves them open and silent, reads
//! the resident memory again once it is steady, and prints one JSON line:
//! the server's memory before and after, and the difference per connection.

use socketserver_bench::{ServerProcess, steady_resident_kib};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (count, command) = match args.split_first() {
        Some((count, rest)) if rest.first().map(String::as_str) == Some("--") => {
            let count = count.parse::<usize>().map_err(io::Error::other)?;
            if count == 0 {
                return Err(io::Error::other("N must be at least 1"));
            }
            (count, &rest[1..])
        }
        _ => {
            eprintln!("usage: idle_memory N -- SERVER-COMMAND... (with {{addr}})");
            std::process::exit(2);
        }
    };
    let server = ServerProcess::start(command)?;
    let before = steady_resident_kib(server.pid())?;
    let mut connections = Vec::with_capacity(count);
    for i in 0..count {
        let mut stream = TcpStream::connect(server.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let message = format!("connection {i}\n");
        stream.write_all(message.as_bytes())?;
        let mut reply = vec![0; message.len()];
        stream.read_exact(&mut reply)?;
        if reply != message.as_bytes() {
            return Err(io::Error::other(format!("wrong echo on connection {i}")));
        }
        connections.push(stream);
    }
    let after = steady_resident_kib(server.pid())?;
    let per_connection = (after.saturating_sub(before)) as f64 / count as f64;
    println!(
        "{{\"server\":{:?},\"connections\":{count},\"rss_before_kib\":{before},\
         \"rss_after_kib\":{after},\"kib_per_connection\":{per_connection:.1}}}",
        command.join(" ")
    );
    Ok(())
}
