//! The peer to beat: a plain `std` thread-per-connection TCP echo server, as
//! anyone would write it without a library.
//!
//! `std_echo ADDR` or `std_echo --addr ADDR` (e.g. `127.0.0.1:7100`, or port 0
//! for a free one); says `listening on ADDR` on standard error once it accepts
//! connections, and runs until killed.

use socketserver_bench::peer::PeerArgs;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::thread;

fn serve(stream: TcpStream) {
    let _ = io::copy(&mut &stream, &mut &stream);
}

fn main() -> io::Result<()> {
    let args = PeerArgs::parse(&[], "std_echo [--addr] ADDR");
    let listener = TcpListener::bind(&args.addr)?;
    eprintln!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || serve(stream));
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
    Ok(())
}
