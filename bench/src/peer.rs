//! What the peer servers (`bench/src/bin/*_echo*.rs`) share: their command
//! line, and the hand-written `mio` echo loop that `mio_echo` runs once and
//! `mio_echo_reuseport` runs on every thread.
//!
//! Every peer takes the address to bind as its first argument or as
//! `--addr ADDR` (`127.0.0.1:0` for a free port), says `listening on ADDR`
//! (the real address) on standard error once it accepts, and runs until
//! killed.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::num::NonZeroUsize;
use std::process;
use std::thread;

/// Where a peer listens when no address is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7100";

/// The size of a connection's buffer in the peers that choose one: 8 KiB,
/// what `std::io::copy` (the `std` peer) uses.
pub const BUFFER_SIZE: usize = 8 * 1024;

/// A peer's command line: the address, and the values of its `--NAME VALUE`
/// options.
#[derive(Debug)]
pub struct PeerArgs {
    /// The address to bind (`DEFAULT_ADDR` when none is given).
    pub addr: String,
    options: HashMap<String, String>,
}

impl PeerArgs {
    /// Parses this process's arguments: the address (first plain argument,
    /// or `--addr ADDR`) and the options named in `options` (`--NAME VALUE`
    /// or `--NAME=VALUE`). Anything else prints `usage` and exits with
    /// status 2.
    pub fn parse(options: &[&str], usage: &str) -> PeerArgs {
        Self::parse_from(std::env::args().skip(1), options).unwrap_or_else(|e| {
            eprintln!("{e}\nusage: {usage}");
            process::exit(2);
        })
    }

    /// [`PeerArgs::parse`] on the given arguments, with the error instead of
    /// exiting.
    pub fn parse_from(
        args: impl IntoIterator<Item = String>,
        options: &[&str],
    ) -> Result<PeerArgs, String> {
        let mut addr = None;
        let mut values = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(option) = arg.strip_prefix("--") else {
                if addr.replace(arg.clone()).is_some() {
                    return Err(format!("unexpected argument {arg:?}"));
                }
                continue;
            };
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{option} needs a value"))?;
                    (option.to_owned(), value)
                }
            };
            if name == "addr" {
                addr = Some(value);
            } else if options.contains(&name.as_str()) {
                values.insert(name, value);
            } else {
                return Err(format!("unknown option --{name}"));
            }
        }
        Ok(PeerArgs {
            addr: addr.unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            options: values,
        })
    }

    /// The value of option `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// The value of the count option `--name`, by default the number of CPUs
    /// this process may run on (its affinity mask, so a server pinned with
    /// `taskset` counts only its own).
    pub fn count_or_cpus(&self, name: &str) -> io::Result<usize> {
        match self.get(name) {
            Some(value) => value
                .parse::<NonZeroUsize>()
                .map(NonZeroUsize::get)
                .map_err(|e| io::Error::other(format!("--{name} {value}: {e}"))),
            None => Ok(thread::available_parallelism().map_or(1, NonZeroUsize::get)),
        }
    }
}

/// The token of the listener; a connection's token is its slot plus one.
const LISTENER: Token = Token(0);

/// One connection of the `mio` loop.
struct Connection {
    stream: TcpStream,
    buffer: Box<[u8]>,
    /// `buffer[unsent..filled]` was read but not yet written back (a partial
    /// write); while any is left, the connection waits for `WRITABLE` and
    /// reads nothing more.
    unsent: usize,
    filled: usize,
}

/// What a connection's turn ended with.
enum Turn {
    /// Everything read was echoed; waiting for more to read.
    Reading,
    /// Some bytes are still to be written back; waiting for `WRITABLE`.
    Writing,
    /// End of stream, or an error: the connection is done.
    Done,
}

impl Connection {
    /// Writes back what is left over, then reads until the socket would
    /// block, writing back each read at once.
    fn echo(&mut self) -> Turn {
        loop {
            while self.unsent < self.filled {
                match self.stream.write(&self.buffer[self.unsent..self.filled]) {
                    Ok(0) => return Turn::Done,
                    Ok(n) => self.unsent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Turn::Writing,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Turn::Done,
                }
            }
            match self.stream.read(&mut self.buffer) {
                Ok(0) => return Turn::Done,
                Ok(n) => {
                    self.unsent = 0;
                    self.filled = n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Turn::Reading,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Turn::Done,
            }
        }
    }
}

/// A single-thread, edge-triggered `mio` TCP echo loop on `listener`, as in
/// `mio`'s `examples/tcp_server.rs`, echoing correctly under partial writes:
/// it accepts until the listener would block; per connection it keeps one
/// buffer, reads until the socket would block and writes each read back at
/// once, keeps what a partial write left and asks for `WRITABLE` only then
/// (reading nothing more until it is written); it drops a connection at end
/// of stream or on an error. Returns only on an error of the poll itself.
pub fn mio_echo_loop(mut listener: TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    // Slot `i` holds the connection of token `i + 1`; `free` lists empty slots.
    let mut connections: Vec<Option<Connection>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    let mut stream = match listener.accept() {
                        Ok((stream, _)) => stream,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => {
                            // E.g. out of file descriptors: the next
                            // connection to arrive tries again.
                            eprintln!("accept: {e}");
                            break;
                        }
                    };
                    let slot = free.pop().unwrap_or_else(|| {
                        connections.push(None);
                        connections.len() - 1
                    });
                    let token = Token(slot + 1);
                    if poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE)
                        .is_err()
                    {
                        free.push(slot);
                        continue;
                    }
                    // Nothing is read here: the first READABLE event does it.
                    connections[slot] = Some(Connection {
                        stream,
                        buffer: vec![0; BUFFER_SIZE].into_boxed_slice(),
                        unsent: 0,
                        filled: 0,
                    });
                }
                continue;
            }
            let slot = event.token().0 - 1;
            let Some(connection) = connections.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let waiting_to_write = connection.unsent < connection.filled;
            let done = match connection.echo() {
                Turn::Reading if waiting_to_write => poll
                    .registry()
                    .reregister(&mut connection.stream, event.token(), Interest::READABLE)
                    .is_err(),
                Turn::Writing if !waiting_to_write => poll
                    .registry()
                    .reregister(
                        &mut connection.stream,
                        event.token(),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .is_err(),
                Turn::Reading | Turn::Writing => false,
                Turn::Done => true,
            };
            if done {
                if let Some(mut connection) = connections[slot].take() {
                    let _ = poll.registry().deregister(&mut connection.stream);
                }
                free.push(slot);
            }
        }
    }
}

/// The tokio runtime a peer runs on, from its `--flavor multi|current` and
/// `--workers N` options (`multi` by default, with a worker per CPU this
/// process may run on); exits with status 2 on an unknown flavor.
pub fn tokio_runtime(args: &PeerArgs, usage: &str) -> io::Result<tokio::runtime::Runtime> {
    match args.get("flavor").unwrap_or("multi") {
        "multi" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.count_or_cpus("workers")?)
            .enable_io()
            .build(),
        "current" => tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build(),
        other => {
            eprintln!("unknown flavor {other:?}\nusage: {usage}");
            process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], options: &[&str]) -> Result<PeerArgs, String> {
        PeerArgs::parse_from(args.iter().map(|a| a.to_string()), options)
    }

    #[test]
    fn the_address_comes_first_or_after_addr() {
        assert_eq!(parse(&["127.0.0.1:0"], &[]).unwrap().addr, "127.0.0.1:0");
        assert_eq!(parse(&["--addr", "[::1]:9"], &[]).unwrap().addr, "[::1]:9");
        assert_eq!(parse(&["--addr=1.2.3.4:5"], &[]).unwrap().addr, "1.2.3.4:5");
        assert_eq!(parse(&[], &[]).unwrap().addr, DEFAULT_ADDR);
    }

    #[test]
    fn options_are_named_and_checked() {
        let args = parse(
            &["127.0.0.1:0", "--flavor", "current", "--workers=3"],
            &["flavor", "workers"],
        )
        .unwrap();
        assert_eq!(args.get("flavor"), Some("current"));
        assert_eq!(args.count_or_cpus("workers").unwrap(), 3);
        assert!(parse(&["--threads", "2"], &["workers"]).is_err());
        assert!(parse(&["--workers"], &["workers"]).is_err());
        assert!(parse(&["a:1", "b:2"], &[]).is_err());
        let args = parse(&["--workers", "0"], &["workers"]).unwrap();
        assert!(args.count_or_cpus("workers").is_err());
        assert!(
            parse(&[], &["workers"])
                .unwrap()
                .count_or_cpus("workers")
                .unwrap()
                >= 1
        );
    }
}
