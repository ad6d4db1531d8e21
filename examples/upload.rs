//! A file upload server: clients store files into a directory and fetch
//! them back.
//!
//! The protocol, on TCP:
//!
//! * `put <name> <size>\n`, then exactly `<size>` bytes: the reply is
//!   `ok <size>\n` once the file is stored, or `error <reason>\n`, after which
//!   the server closes the connection (it does not read the announced bytes);
//! * `get <name>\n`: the reply is `ok <size>\n` and the file's bytes, or
//!   `error <reason>\n`.
//!
//! A request line is UTF-8 (a name that is not is refused, rather than
//! stored under a name that two different requests could share).
//!
//! `<name>` is a plain file name: one with a path separator, `..`, a leading
//! dot, a NUL or over 255 bytes is refused. The bytes go to a temporary file
//! in the directory (its name starts with a dot, so no client can name it),
//! which is flushed to disk and renamed into place only once complete: a
//! client that disconnects mid-transfer leaves nothing behind, and no half
//! file is ever visible. `--max-size` bounds a file, checked before any byte
//! is written. A file that cannot be stored (a full disk) is answered with
//! `error …` too.
//!
//! Memory stays bounded whatever the client does: a file is sent 64 KiB at a
//! time, as the client takes it ([`Conn::resume_when_sent`]), and pipelined
//! requests wait while 64 KiB of replies are queued.
//!
//! ```text
//! cargo run --example upload -- --dir /tmp/uploads     # listens on 127.0.0.1:7015
//! printf 'put hello.txt 6\nhello\n' | nc 127.0.0.1 7015
//! printf 'get hello.txt\n' | nc 127.0.0.1 7015
//! ```
//!
//! The handler is buffer-shaped: it runs under every `--mode`, `threading`
//! (the default) and `event` included (where a file's disk writes happen on
//! the event loop: fine for a local disk). Ctrl-C or SIGTERM stops the
//! server cleanly; a transfer cut short by it leaves nothing behind either.
//! Under `--mode forking` a stop may end a child in the middle of a transfer,
//! where nothing is cleaned up: the server removes its children's temporary
//! files once it has stopped, and at start those of a server that died.

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, handle, server};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest request line, its `\n` included.
const MAX_LINE: usize = 512;
/// The longest file name, in bytes.
const MAX_NAME: usize = 255;
/// How much of a file is queued at once, and how many replies to pipelined
/// requests: the next waits until they have gone.
const PIECE: u64 = 64 * 1024;
/// How temporary files' names begin: a dot, so that no client can name one.
const TEMPORARY: &str = ".upload-";

/// File upload server: `put <name> <size>` then the bytes, or `get <name>`.
///
/// Names are plain file names (no path separator, no `..`, no leading dot, no
/// NUL, at most 255 bytes). A file is stored under its name only once all of
/// it has come and is on disk.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Try it: printf 'put hello.txt 6\\nhello\\n' | nc 127.0.0.1 7015"
)]
struct Cli {
    /// Address to listen on, HOST:PORT (port 0 picks a free port, which is logged).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7015")]
    addr: String,

    /// Directory the files are stored in (created if missing).
    #[arg(long, value_name = "DIR", default_value = "uploads")]
    dir: PathBuf,

    /// The largest file accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    max_size: u64,

    #[command(flatten)]
    options: common::Options,
}

/// The server: where files go, how large they may be, and what names
/// temporary files.
#[server(transport = "tcp", concurrency = "threading", conn = "Transfer")]
#[derive(Debug)]
struct Upload {
    dir: PathBuf,
    max_size: u64,
    /// The server's process: temporary files are named after it, so that
    /// those a stop leaves (`--mode forking`) can be found and removed.
    server: u32,
    temporaries: AtomicU64,
}

/// What a connection is doing: waiting for a request, receiving a file, or
/// sending one.
#[derive(Debug, Default)]
enum Transfer {
    #[default]
    Idle,
    Receiving(Incoming),
    Sending(Outgoing),
}

/// A file being sent, a piece per call.
#[derive(Debug)]
struct Outgoing {
    file: File,
    name: String,
    left: u64,
}

/// A file being received. Dropped before it is complete (the client left,
/// an error, the server closing), it removes its temporary file.
#[derive(Debug)]
struct Incoming {
    file: File,
    temporary: PathBuf,
    target: PathBuf,
    size: u64,
    left: u64,
}

impl Incoming {
    /// The name the file is stored under.
    fn name(&self) -> String {
        self.target
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.left > 0
            && let Err(e) = fs::remove_file(&self.temporary)
        {
            log::error!("cannot remove {}: {e}", self.temporary.display());
        }
    }
}

impl Upload {
    /// Called with what has come: request lines, and the bytes of a file;
    /// and while a file is being sent, each time its last piece has gone.
    #[handle]
    fn handle(&self, conn: &mut Conn<Transfer>) -> io::Result<()> {
        loop {
            let (input, output, transfer) = conn.parts();
            match transfer {
                Transfer::Receiving(incoming) => {
                    let bytes = input.bytes();
                    let take = bytes
                        .len()
                        .min(usize::try_from(incoming.left).unwrap_or(usize::MAX));
                    if let Err(e) = incoming.file.write_all(&bytes[..take]) {
                        let name = incoming.name();
                        return refuse(conn, &format!("cannot store {name}: {e}"));
                    }
                    input.consume(take);
                    incoming.left -= take as u64;
                    if incoming.left > 0 {
                        // The rest comes later; if the input ended, the
                        // transfer is dropped with the connection, and its
                        // temporary file.
                        return Ok(());
                    }
                    // Complete: on disk, then in place.
                    let Transfer::Receiving(incoming) = std::mem::take(transfer) else {
                        unreachable!("matched above");
                    };
                    let (name, size) = (incoming.name(), incoming.size);
                    if let Err(e) = store(incoming) {
                        return refuse(conn, &format!("cannot store {name}: {e}"));
                    }
                    writeln!(output, "ok {size}")?;
                    continue;
                }
                Transfer::Sending(outgoing) => {
                    if !output.is_empty() {
                        // Called on input (under `event`) before the last
                        // piece has gone: one piece at a time.
                        conn.resume_when_sent();
                        return Ok(());
                    }
                    let piece = outgoing.left.min(PIECE);
                    let sent = io::copy(&mut (&mut outgoing.file).take(piece), output)?;
                    if sent < piece {
                        // Its size was promised: the client cannot be told
                        // anything but that the reply ends here.
                        let name = outgoing.name.clone();
                        log::error!(
                            "{}: {name} ended while it was sent: closing the connection",
                            conn.client_address()
                        );
                        conn.close();
                        return Ok(());
                    }
                    outgoing.left -= sent;
                    if outgoing.left > 0 {
                        conn.resume_when_sent();
                        return Ok(());
                    }
                    *transfer = Transfer::Idle;
                }
                Transfer::Idle => {}
            }
            // Pipelined requests wait while replies pile up.
            if conn.output().len() as u64 >= PIECE {
                conn.resume_when_sent();
                return Ok(());
            }
            let line = match conn.input().line(MAX_LINE) {
                Ok(Some(line)) => match std::str::from_utf8(line) {
                    Ok(line) => line.trim_end().to_owned(),
                    Err(_) => return refuse(conn, "a request line that is not UTF-8"),
                },
                Ok(None) => return Ok(()),
                Err(e) => return refuse(conn, &e.to_string()),
            };
            match self.request(&line) {
                Ok(Request::Put(incoming)) => {
                    if incoming.left == 0 {
                        let (name, size) = (incoming.name(), incoming.size);
                        if let Err(e) = store(incoming) {
                            return refuse(conn, &format!("cannot store {name}: {e}"));
                        }
                        writeln!(conn.output(), "ok {size}")?;
                    } else {
                        *conn.state() = Transfer::Receiving(incoming);
                    }
                }
                Ok(Request::Get(outgoing)) => {
                    writeln!(conn.output(), "ok {}", outgoing.left)?;
                    *conn.state() = Transfer::Sending(outgoing);
                }
                Err(Refusal::Put(reason)) => return refuse(conn, &reason),
                Err(Refusal::Get(reason)) => {
                    log::warn!("{}: {reason}", conn.client_address());
                    writeln!(conn.output(), "error {reason}")?;
                }
            }
        }
    }
}

/// What a request line asks for.
enum Request {
    Put(Incoming),
    Get(Outgoing),
}

/// Why a request is refused: a refused `put` closes the connection (its
/// bytes are not read); a refused `get` does not.
enum Refusal {
    Put(String),
    Get(String),
}

impl Upload {
    fn request(&self, line: &str) -> Result<Request, Refusal> {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["put", name, size] => {
                let size: u64 = size
                    .parse()
                    .map_err(|_| Refusal::Put(format!("bad size {size:?}")))?;
                if size > self.max_size {
                    return Err(Refusal::Put(format!(
                        "{size} bytes is over the limit of {}",
                        self.max_size
                    )));
                }
                let target = self.path_of(name).map_err(Refusal::Put)?;
                self.receive(target, size)
                    .map(Request::Put)
                    .map_err(|e| Refusal::Put(format!("cannot store {name}: {e}")))
            }
            ["get", name] => {
                let path = self.path_of(name).map_err(Refusal::Get)?;
                let cannot = |e: io::Error| Refusal::Get(format!("cannot read {name}: {e}"));
                let file = File::open(&path).map_err(cannot)?;
                let metadata = file.metadata().map_err(cannot)?;
                if !metadata.is_file() {
                    return Err(Refusal::Get(format!("cannot read {name}: not a file")));
                }
                Ok(Request::Get(Outgoing {
                    file,
                    name: (*name).to_owned(),
                    left: metadata.len(),
                }))
            }
            ["put", ..] => Err(Refusal::Put("usage: put <name> <size>".into())),
            _ => Err(Refusal::Put(format!(
                "unknown request {:?}: put <name> <size>, or get <name>",
                line.chars().take(64).collect::<String>()
            ))),
        }
    }

    /// Where the file `name` lives, if `name` is a plain file name.
    fn path_of(&self, name: &str) -> Result<PathBuf, String> {
        let reason = if name.is_empty() {
            Some("an empty name")
        } else if name.len() > MAX_NAME {
            Some("a name over 255 bytes")
        } else if name.contains(['/', '\\']) {
            Some("a name with a path separator")
        } else if name.contains("..") {
            Some("a name with `..`")
        } else if name.starts_with('.') {
            Some("a name with a leading dot")
        } else if name.contains('\0') {
            Some("a name with a NUL")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(format!("refused: {reason}")),
            None => Ok(self.dir.join(name)),
        }
    }

    /// Opens the temporary file a transfer to `target` writes into.
    fn receive(&self, target: PathBuf, size: u64) -> io::Result<Incoming> {
        // The process too: under `--mode forking` each child counts from
        // where the server was when it forked.
        let n = self.temporaries.fetch_add(1, Ordering::Relaxed);
        let temporary = self.dir.join(format!(
            "{TEMPORARY}{}-{}-{n}.part",
            self.server,
            std::process::id()
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        Ok(Incoming {
            file,
            temporary,
            target,
            size,
            left: size,
        })
    }
}

/// Puts a complete file in place: flushed to disk first, so that the name
/// never shows a file that is not whole.
fn store(incoming: Incoming) -> io::Result<()> {
    let stored = incoming
        .file
        .sync_all()
        .and_then(|()| fs::rename(&incoming.temporary, &incoming.target));
    if let Err(e) = stored {
        let _ = fs::remove_file(&incoming.temporary);
        return Err(e);
    }
    log::info!(
        "stored {} ({} bytes)",
        incoming.target.display(),
        incoming.size
    );
    Ok(())
}

/// Answers `error <reason>` and closes the connection.
fn refuse(conn: &mut Conn<Transfer>, reason: &str) -> io::Result<()> {
    log::warn!("{}: {reason}", conn.client_address());
    writeln!(conn.output(), "error {reason}")?;
    conn.close();
    Ok(())
}

/// Removes the temporary files of `server` (its process id), or with `None`
/// those of servers no longer running: what a stop (`--mode forking`) or a
/// crash left.
fn remove_temporaries(dir: &Path, server: Option<u32>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            log::error!("cannot look for temporary files in {}: {e}", dir.display());
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|name| name.strip_prefix(TEMPORARY))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let leftover = match server {
            Some(server) => owner == server,
            None => !is_running(owner),
        };
        if leftover {
            match fs::remove_file(entry.path()) {
                Ok(()) => log::info!("removed the unfinished upload {}", entry.path().display()),
                Err(e) => log::error!("cannot remove {}: {e}", entry.path().display()),
            }
        }
    }
}

/// Whether a process `pid` runs (or may: one we may not signal runs).
fn is_running(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    if let Err(e) = fs::create_dir_all(&cli.dir) {
        log::error!("cannot create {}: {e}", cli.dir.display());
        return ExitCode::FAILURE;
    }
    remove_temporaries(&cli.dir, None);
    let server = std::process::id();
    let upload = Upload {
        dir: cli.dir.clone(),
        max_size: cli.max_size,
        server,
        temporaries: AtomicU64::new(0),
    };
    log::info!("storing files in {}", Path::new(&cli.dir).display());
    let status = common::serve_all(&cli.addr, &cli.options, upload.builder());
    // Every connection has ended by now (every child is reaped).
    remove_temporaries(&cli.dir, Some(server));
    status
}
