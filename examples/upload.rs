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
//! `<name>` is a plain file name: one with a path separator, `..`, a leading
//! dot, a NUL or over 255 bytes is refused. The bytes go to a temporary file
//! in the directory (its name starts with a dot, so no client can name it),
//! which is flushed to disk and renamed into place only once complete: a
//! client that disconnects mid-transfer leaves nothing behind, and no half
//! file is ever visible. `--max-size` bounds a file, checked before any byte
//! is written.
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

#[path = "common.rs"]
mod common;

use clap::Parser;
use socketserver::{Conn, handle, server};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest request line, its `\n` included.
const MAX_LINE: usize = 512;
/// The longest file name, in bytes.
const MAX_NAME: usize = 255;

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

/// The server: where files go, how large they may be, and a counter that
/// names temporary files.
#[server(transport = "tcp", concurrency = "threading", conn = "Transfer")]
#[derive(Debug)]
struct Upload {
    dir: PathBuf,
    max_size: u64,
    temporaries: AtomicU64,
}

/// What a connection is doing: waiting for a request, or receiving a file.
#[derive(Debug, Default)]
enum Transfer {
    #[default]
    Idle,
    Receiving(Incoming),
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
    /// Called with what has come: request lines, and the bytes of a file.
    #[handle]
    fn handle(&self, conn: &mut Conn<Transfer>) -> io::Result<()> {
        loop {
            let (input, output, transfer) = conn.parts();
            if let Transfer::Receiving(incoming) = transfer {
                let bytes = input.bytes();
                let take = bytes
                    .len()
                    .min(usize::try_from(incoming.left).unwrap_or(usize::MAX));
                incoming.file.write_all(&bytes[..take])?;
                input.consume(take);
                incoming.left -= take as u64;
                if incoming.left > 0 {
                    // The rest comes later; if the input ended, the transfer
                    // is dropped with the connection, and its temporary file.
                    return Ok(());
                }
                let size = incoming.size;
                // Complete: on disk, then in place.
                let Transfer::Receiving(incoming) = std::mem::take(transfer) else {
                    unreachable!("matched above");
                };
                store(incoming)?;
                writeln!(output, "ok {size}")?;
                continue;
            }
            let line = match input.line(MAX_LINE) {
                Ok(Some(line)) => String::from_utf8_lossy(line).trim_end().to_owned(),
                Ok(None) => return Ok(()),
                Err(e) => return refuse(conn, &e.to_string()),
            };
            match self.request(&line) {
                Ok(Request::Put(incoming)) => {
                    if incoming.left == 0 {
                        let size = incoming.size;
                        store(incoming)?;
                        writeln!(conn.output(), "ok {size}")?;
                    } else {
                        *conn.state() = Transfer::Receiving(incoming);
                    }
                }
                Ok(Request::Get(bytes)) => {
                    writeln!(conn.output(), "ok {}", bytes.len())?;
                    conn.write(&bytes);
                }
                Err(Refusal::Put(reason)) => return refuse(conn, &reason),
                Err(Refusal::Get(reason)) => writeln!(conn.output(), "error {reason}")?,
            }
        }
    }
}

/// What a request line asks for.
enum Request {
    Put(Incoming),
    Get(Vec<u8>),
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
                fs::read(&path)
                    .map(Request::Get)
                    .map_err(|e| Refusal::Get(format!("cannot read {name}: {e}")))
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
        let n = self.temporaries.fetch_add(1, Ordering::Relaxed);
        let temporary = self
            .dir
            .join(format!(".upload-{}-{n}.part", std::process::id()));
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
    log::debug!("{}: refused: {reason}", conn.client_address());
    writeln!(conn.output(), "error {reason}")?;
    conn.close();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    common::init_logging();
    if let Err(e) = fs::create_dir_all(&cli.dir) {
        log::error!("cannot create {}: {e}", cli.dir.display());
        return ExitCode::FAILURE;
    }
    let upload = Upload {
        dir: cli.dir.clone(),
        max_size: cli.max_size,
        temporaries: AtomicU64::new(0),
    };
    log::info!("storing files in {}", Path::new(&cli.dir).display());
    common::serve_all(&cli.addr, &cli.options, upload.builder())
}
