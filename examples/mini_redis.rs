//! A small Redis: an in-memory key-value store that speaks RESP2, enough for
//! `redis-cli` and `redis-benchmark`.
//!
//! Commands: `PING [message]`, `ECHO message`, `SET key value`, `GET key`,
//! `DEL key…`, `EXISTS key…`, `INCR key`, `QUIT`, and enough of `CONFIG GET`
//! and `COMMAND` for the real clients to start. Requests are RESP arrays of
//! bulk strings (what every client sends), or inline commands (`PING` typed
//! into `nc`). A malformed request gets a RESP error and the connection
//! closes; an unknown command or a wrong number of arguments gets an error
//! and the connection goes on.
//!
//! ```text
//! cargo run --example mini_redis                          # listens on 127.0.0.1:7013
//! redis-cli -p 7013 set greeting hello
//! redis-benchmark -p 7013 -t ping,set,get -P 16 -q
//! cargo run --example mini_redis -- --mode event          # the same handler on event loops
//! ```
//!
//! The handler is buffer-shaped: `--mode threading` (the default), `pool`
//! and `event` (and the others) run it unchanged. Keys live in memory, in
//! shards each behind its own lock, and go when the server stops.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, Output, handle, server};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Write};
use std::ops::Range;
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The longest bulk string (a key or a value).
const MAX_BULK: usize = 16 * 1024 * 1024;
/// The most arguments of one command.
const MAX_ARGS: usize = 64 * 1024;
/// The longest inline command or RESP header line.
const MAX_LINE: usize = 64 * 1024;
/// The longest request, all its arguments together.
const MAX_REQUEST: usize = MAX_BULK + MAX_LINE;
/// Shards of the key space, each behind its own lock.
const SHARDS: usize = 64;
/// How much of the replies to pipelined requests is queued at once: the
/// next requests wait until it has gone.
const MAX_QUEUED: usize = 64 * 1024;

/// Mini Redis: an in-memory key-value server speaking RESP2.
#[derive(Parser, Debug)]
#[command(version, after_help = "Try it: redis-cli -p 7013 ping")]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7013")]
    addr: String,

    #[command(flatten)]
    options: common::Options,
}

/// The store: shards of keys, each behind its own lock.
#[server(transport = "tcp", concurrency = "threading", conn = "Session")]
#[derive(Debug)]
struct MiniRedis {
    shards: Vec<Mutex<HashMap<Vec<u8>, Vec<u8>>>>,
    hasher: RandomState,
}

/// What a connection keeps between requests: where the arguments of the
/// one being answered lie in its input (kept, so that no request allocates).
#[derive(Debug, Default)]
struct Session {
    args: Vec<Range<usize>>,
}

/// Why a request could not be parsed: the connection closes after saying so.
struct Malformed(String);

impl MiniRedis {
    fn new() -> MiniRedis {
        MiniRedis {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        let index = self.hasher.hash_one(key) as usize % SHARDS;
        // A map is whole after every operation here: nothing to repair.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Called with what has come: answers each whole request, in order
    /// (pipelined requests too).
    #[handle]
    fn handle(&self, conn: &mut Conn<Session>) -> io::Result<()> {
        loop {
            // Pipelined requests wait while replies pile up (a client that
            // sends without reading holds no more than this and one reply).
            if conn.output().len() >= MAX_QUEUED {
                conn.resume_when_sent();
                return Ok(());
            }
            let (input, output, session) = conn.parts();
            input.set_limit(MAX_REQUEST);
            let bytes = input.bytes();
            let args = &mut session.args;
            args.clear();
            let parsed = match parse(bytes, args) {
                // All of it has come, and it is still not whole.
                Ok(None) if bytes.len() >= MAX_REQUEST => Err(Malformed(format!(
                    "a request over {} MiB",
                    MAX_REQUEST >> 20
                ))),
                parsed => parsed,
            };
            let used = match parsed {
                Ok(Some(used)) => used,
                Ok(None) => {
                    if input.is_ended() && !bytes.is_empty() {
                        output.write_all(
                            b"-ERR Protocol error: the input ended inside a request\r\n",
                        )?;
                    }
                    return Ok(());
                }
                Err(Malformed(reason)) => {
                    write!(output, "-ERR Protocol error: {reason}\r\n")?;
                    log::warn!("{}: {reason}", conn.client_address());
                    conn.close();
                    return Ok(());
                }
            };
            let quit = args
                .first()
                .is_some_and(|name| bytes[name.clone()].eq_ignore_ascii_case(b"QUIT"));
            if !args.is_empty() {
                self.execute(bytes, args, output)?;
            }
            input.consume(used);
            if quit {
                conn.close();
                return Ok(());
            }
        }
    }

    /// Runs one command (its arguments: `ranges` of `bytes`), writing its
    /// reply.
    fn execute(&self, bytes: &[u8], ranges: &[Range<usize>], out: &mut Output) -> io::Result<()> {
        let arg = |i: usize| &bytes[ranges[i].clone()];
        let args: [&[u8]; 3] = [0, 1, 2].map(|i| if i < ranges.len() { arg(i) } else { &[] });
        // Upper-cased on the stack: no command name is longer.
        let mut name = [0u8; 8];
        let upper = args[0].len() <= name.len();
        if upper {
            name[..args[0].len()].copy_from_slice(args[0]);
            name.make_ascii_uppercase();
        }
        let name = if upper {
            &name[..args[0].len()]
        } else {
            &[][..]
        };
        let argc = ranges.len();
        let arity_error = |out: &mut Output| {
            write!(
                out,
                "-ERR wrong number of arguments for '{}' command\r\n",
                String::from_utf8_lossy(args[0]).to_lowercase()
            )
        };
        match name {
            b"PING" if argc == 1 => out.write_all(b"+PONG\r\n"),
            b"PING" if argc == 2 => bulk(out, args[1]),
            b"ECHO" if argc == 2 => bulk(out, args[1]),
            b"SET" if argc == 3 => {
                self.shard(args[1])
                    .insert(args[1].to_vec(), args[2].to_vec());
                out.write_all(b"+OK\r\n")
            }
            b"SET" if argc > 3 => out.write_all(b"-ERR syntax error\r\n"),
            b"GET" if argc == 2 => match self.shard(args[1]).get(args[1]) {
                Some(value) => bulk(out, value),
                None => out.write_all(b"$-1\r\n"),
            },
            b"DEL" if argc >= 2 => {
                let n = (1..argc)
                    .filter(|&i| self.shard(arg(i)).remove(arg(i)).is_some())
                    .count();
                write!(out, ":{n}\r\n")
            }
            b"EXISTS" if argc >= 2 => {
                let n = (1..argc)
                    .filter(|&i| self.shard(arg(i)).contains_key(arg(i)))
                    .count();
                write!(out, ":{n}\r\n")
            }
            b"INCR" if argc == 2 => {
                let mut shard = self.shard(args[1]);
                let value = shard
                    .entry(args[1].to_vec())
                    .or_insert_with(|| b"0".to_vec());
                match integer(value).map(|n| n.checked_add(1)) {
                    Some(Some(n)) => {
                        *value = n.to_string().into_bytes();
                        write!(out, ":{n}\r\n")
                    }
                    Some(None) => out.write_all(b"-ERR increment or decrement would overflow\r\n"),
                    None => out.write_all(b"-ERR value is not an integer or out of range\r\n"),
                }
            }
            // What redis-benchmark asks before it starts (`save`,
            // `appendonly`): no persistence here.
            b"CONFIG" if argc == 3 && args[1].eq_ignore_ascii_case(b"GET") => {
                let parameter = args[2].to_ascii_lowercase();
                let value: &[u8] = match parameter.as_slice() {
                    b"save" => b"",
                    b"appendonly" => b"no",
                    _ => return out.write_all(b"*0\r\n"),
                };
                out.write_all(b"*2\r\n")?;
                bulk(out, &parameter)?;
                bulk(out, value)
            }
            // redis-cli asks for the commands' documentation: none here.
            b"COMMAND" => out.write_all(b"*0\r\n"),
            b"QUIT" => out.write_all(b"+OK\r\n"),
            b"PING" | b"ECHO" | b"SET" | b"GET" | b"DEL" | b"EXISTS" | b"INCR" | b"CONFIG" => {
                arity_error(out)
            }
            _ => write!(
                out,
                "-ERR unknown command '{}'\r\n",
                one_line(&args[0][..args[0].len().min(64)])
            ),
        }
    }
}

/// `bytes` as text for an error reply, which is one line: control
/// characters (a CR LF would end the reply early) become spaces, as in Redis.
fn one_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A decimal integer as Redis writes one: an optional `-`, and digits with
/// no leading zero (no `+`, no spaces).
fn integer(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let canonical = match digits {
        [b'0'] => bytes.len() == 1,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Writes a bulk string.
fn bulk(out: &mut Output, bytes: &[u8]) -> io::Result<()> {
    write!(out, "${}\r\n", bytes.len())?;
    out.write_all(bytes)?;
    out.write_all(b"\r\n")
}

/// Parses the first request of `bytes`, putting where its arguments lie
/// into `args`: how many bytes it took, or `None` until all of it has come.
fn parse(bytes: &[u8], args: &mut Vec<Range<usize>>) -> Result<Option<usize>, Malformed> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    if first != b'*' {
        // An inline command: words up to the end of the line, which ends
        // with LF (what `nc` sends) or CR LF.
        let Some(lf) = bytes.iter().position(|&b| b == b'\n') else {
            if bytes.len() > MAX_LINE {
                return Err(Malformed("a line over 64 KiB".into()));
            }
            return Ok(None);
        };
        let end = if lf > 0 && bytes[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        let mut start = None;
        for (i, &b) in bytes[..end].iter().enumerate() {
            match (b.is_ascii_whitespace(), start) {
                (false, None) => start = Some(i),
                (true, Some(from)) => {
                    args.push(from..i);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(from) = start {
            args.push(from..end);
        }
        return Ok(Some(lf + 1));
    }
    let Some((count, mut at)) = number(bytes, 1)? else {
        return Ok(None);
    };
    if count < 0 {
        // A null array, which Redis takes as nothing.
        return Ok(Some(at));
    }
    let count = usize::try_from(count)
        .ok()
        .filter(|&n| n <= MAX_ARGS)
        .ok_or_else(|| Malformed(format!("an array of {count} elements")))?;
    for _ in 0..count {
        match bytes.get(at) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&other) => {
                return Err(Malformed(format!(
                    "expected '$', got '{}'",
                    char::from(other).escape_default()
                )));
            }
        }
        let Some((len, start)) = number(bytes, at + 1)? else {
            return Ok(None);
        };
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= MAX_BULK)
            .ok_or_else(|| Malformed(format!("a bulk string of {len} bytes")))?;
        let end = start + len;
        if bytes.len() < end + 2 {
            return Ok(None);
        }
        if &bytes[end..end + 2] != b"\r\n" {
            return Err(Malformed("a bulk string not followed by CRLF".into()));
        }
        args.push(start..end);
        at = end + 2;
    }
    Ok(Some(at))
}

/// Where the line starting at `from` ends (its `\r`), if it has.
fn line_end(bytes: &[u8], from: usize) -> Result<Option<usize>, Malformed> {
    match bytes[from..].windows(2).position(|w| w == b"\r\n") {
        Some(at) => Ok(Some(from + at)),
        None if bytes.len() - from > MAX_LINE => Err(Malformed("a line over 64 KiB".into())),
        None => Ok(None),
    }
}

/// The decimal number of the line at `from`, and where the next line starts.
fn number(bytes: &[u8], from: usize) -> Result<Option<(i64, usize)>, Malformed> {
    let Some(end) = line_end(bytes, from)? else {
        return Ok(None);
    };
    let text = &bytes[from..end];
    integer(text).map(|n| Some((n, end + 2))).ok_or_else(|| {
        Malformed(format!(
            "expected a number, got {:?}",
            String::from_utf8_lossy(&text[..text.len().min(32)])
        ))
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    // As redis-server does: a reply that leaves in two writes (a large
    // one) does not wait on the client's delayed acknowledgement.
    let builder = MiniRedis::new().builder().nodelay(true);
    common::serve_all(&cli.addr, &cli.options, builder)
}
