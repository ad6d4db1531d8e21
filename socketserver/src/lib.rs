//! Python's [`socketserver`] and [`selectors`], for Rust: a robust TCP server in
//! a few lines, with the transport and the concurrency model chosen by type, on a
//! [`mio`] selector loop, without an async runtime.
//!
//! [`socketserver`]: https://docs.python.org/3/library/socketserver.html
//! [`selectors`]: https://docs.python.org/3/library/selectors.html
//!
//! # Quick start
//!
//! A struct is the server's shared state; `#[server]` picks its transport and
//! concurrency model, `#[handle]` marks the method that serves each connection.
//!
//! ```
//! use socketserver::{handle, server, StreamRequest};
//! use std::io::{self, BufRead, BufReader, Write};
//! use std::net::TcpStream;
//! use std::thread;
//!
//! #[server(transport = "tcp", concurrency = "threading")]
//! struct Upper;
//!
//! impl Upper {
//!     /// Each line a client sends comes back upper-cased.
//!     #[handle]
//!     fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
//!         // The buffered reader and writer of the connection, at once.
//!         let (reader, mut writer) = req.split();
//!         for line in reader.lines() {
//!             writeln!(writer, "{}", line?.to_uppercase())?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let mut server = Upper.bind("127.0.0.1:0")?;
//! let addr = *server.server_address();
//! let stop = server.shutdown_handle();
//! let serving = thread::spawn(move || server.serve_forever());
//!
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"hello\n")?;
//! let mut reply = String::new();
//! BufReader::new(&client).read_line(&mut reply)?;
//! assert_eq!(reply, "HELLO\n");
//! drop(client);
//!
//! stop.shutdown();
//! serving.join().unwrap()?;
//! # Ok::<(), io::Error>(())
//! ```
//!
//! A program serves until it is told to stop; the usual way is a signal:
//!
//! ```no_run
//! # use socketserver::{handle, server, StreamRequest};
//! # use std::io;
//! # #[server] struct Upper;
//! # impl Upper { #[handle] fn handle(&self, _: &mut StreamRequest) -> io::Result<()> { Ok(()) } }
//! fn main() -> io::Result<()> {
//!     // Ctrl-C or SIGTERM stops it gracefully; a second one, at once.
//!     Upper.bind("127.0.0.1:9999")?.shutdown_on_signals()?.serve_forever()
//! }
//! ```
//!
//! # The attributes
//!
//! `#[server(key = value, ...)]` goes on a struct (unit, tuple or with fields;
//! generics allowed) and gives it the methods `bind(addr)` and `builder()` (to
//! override settings at run time, e.g. `Upper.builder().backlog(4096).bind(addr)`),
//! so the struct cannot have methods of its own by those names. The struct is
//! shared by every request, on several threads: every field must be `Send +
//! Sync`. [`#[server]`](server) lists every key (transport, concurrency model,
//! socket options, timeouts), with its values and default; [`#[handle]`](handle)
//! the handler's signature; [`#[hook]`](hook) the hooks (`verify_request`,
//! `handle_error`, `setup`, `finish`, `handle_timeout`, `service_actions`).
//! Every mistake is a compile error on the offending token that says what to
//! write. The attributes implement [`Service`]; the `raw_runtime` example
//! shows the same server without them.
//!
//! What they expand to, in short: `#[server]` writes `impl Service for Upper`
//! (with `type Request = StreamRequest<TcpStream>` for TCP) whose `handle` and
//! hooks call hidden methods by well-known names, and `impl Upper { fn
//! builder(self) -> Builder<Tcp, Threading, Self>; fn bind(self, addr) }` with
//! one builder call per key. `#[handle]` and `#[hook]` keep your method and add
//! the hidden method that calls it; where none is added, a default is found
//! instead (the hook's default, or an error that the struct has no
//! `#[handle]` method). The `socketserver-macros` crate documents the full
//! expansion. The generated code names this crate `::socketserver`, so depend
//! on it under that name.
//!
//! # Without the attributes
//!
//! ```
//! use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
//! use std::io::{self, Write};
//!
//! let hello = handler_fn(|req: &mut StreamRequest| req.wfile().write_all(b"hello\n"));
//! let server = ThreadingTcpServer::bind("127.0.0.1:0", hello)?;
//! # drop(server);
//! # Ok::<(), io::Error>(())
//! ```
//!
//! # The pieces
//!
//! A [`Server<T, C, S>`](Server) composes three choices:
//!
//! * a [transport] `T`, where requests come from: [`Tcp`] or [`Unix`]
//!   (connections, each a [`StreamRequest`], which the handler reads and
//!   writes itself, or a [`Conn`], whose handler is called with the bytes
//!   received so far and queues its replies), [`Udp`] or [`UnixDgram`]
//!   (datagrams, each a [`DatagramRequest`]);
//! * a [concurrency model](concurrency) `C`, where requests run:
//!   [`Synchronous`] (one at a time), [`Threading`] (a thread each),
//!   [`Forking`] (a child process each), [`Pool`] (a bounded pool of
//!   worker threads with a bounded queue; a [`Conn`] holds a worker only for
//!   its turns) or [`Event`] (event loops on a few
//!   threads, each serving many connections: tens of thousands at a few
//!   hundred bytes each; stream handlers there are [`Conn`]-shaped);
//! * a [`Service`] `S`, what is done with each request, with Python's hooks
//!   (`verify_request`, `handle_error`, `setup`, `finish`, …).
//!
//! Python's names are aliases: [`TcpServer`] and [`ThreadingTcpServer`],
//! [`UdpServer`], [`UnixStreamServer`], [`UnixDatagramServer`] and their
//! `Threading…` and `Forking…` forms ([`ForkingTcpServer`], …); the pool,
//! which Python lacks, is [`PoolTcpServer`].
//! [`Server::builder`] sets options (backlog, timeouts, `nodelay`, …) before
//! binding. The loop is built on [`selector::Selector`], a selectors-style API
//! you can use on its own.
//!
//! # Unix sockets
//!
//! The Unix transports bind to a path. A socket file left there by a server
//! that is gone is removed first; a path where a server still answers, or
//! where a file that is not a socket lies, is refused; closing the server
//! removes its file (see [transport] for the details). On Linux, a path that
//! starts with a NUL byte (`"\0name"`) is an abstract name, which has no file.
//!
//! ```
//! use socketserver::{StreamRequest, ThreadingUnixStreamServer, handler_fn};
//! use std::io::{self, Read, Write};
//! use std::os::unix::net::UnixStream;
//! use std::thread;
//!
//! let hello = handler_fn(|req: &mut StreamRequest<UnixStream>| req.wfile().write_all(b"hello\n"));
//! let path = std::env::temp_dir().join(format!("socketserver-doc-{}.sock", std::process::id()));
//! let mut server = ThreadingUnixStreamServer::bind(path.as_path(), hello)?;
//! let stop = server.shutdown_handle();
//! let serving = thread::spawn(move || server.serve_forever());
//!
//! let mut reply = String::new();
//! UnixStream::connect(&path)?.read_to_string(&mut reply)?;
//! assert_eq!(reply, "hello\n");
//!
//! stop.shutdown();
//! serving.join().unwrap()?; // the server is dropped: its socket file is removed
//! assert!(!path.exists());
//! # Ok::<(), io::Error>(())
//! ```
//!
//! # Robustness
//!
//! * An error returned by a handler, or a panic in it, is passed to
//!   [`Service::handle_error`] (which reports it by default, with the client's
//!   address) and the server goes on.
//! * Reports go through the [`log`] crate when the program installed a logger;
//!   a program that installed none sees errors and warnings on standard error,
//!   so a mistake is never silent. A handler's panic is reported once, with
//!   where it happened: the panic hook is not called for it (see
//!   [`Service::handle_error`] to forward it to a crash reporter).
//!   Clients that disconnect or time out are routine: `debug` records, e.g.
//!   `env_logger::init()` with `RUST_LOG=socketserver=debug` to see them.
//! * Accept errors never stop the loop: per-connection ones are skipped; running
//!   out of file descriptors or memory is logged and retried after a pause.
//! * [`ShutdownHandle::shutdown`] wakes the loop at once from any thread; closing
//!   waits for running handlers, and shuts down connections that are still open
//!   after `shutdown_timeout` so that a stuck client cannot hold the server.
//!
//! This crate works on Unix (Linux, macOS, the BSDs).

// Lets the code the macros generate (`::socketserver::…`) compile inside this
// crate's own tests and doc examples too.
extern crate self as socketserver;

pub mod concurrency;
pub mod selector;
pub mod transport;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

mod accept;
mod builder;
mod connections;
mod error;
mod intake;
mod job;
mod report;
mod request;
mod server;
mod service;
mod settings;
mod shutdown;
mod signals;

pub use builder::{Builder, Unbound};
pub use concurrency::{Concurrency, Drives, Event, Forking, Pool, Synchronous, Threading};
pub use error::{RequestError, Stage, log_request_error};
pub use request::{Conn, ConnId, ConnState, Input, Output};
pub use request::{DatagramRequest, DatagramSocket, RFile, Request, Stream, StreamRequest, WFile};
pub use server::Server;
pub use service::{ClientAddr, HandlerFn, Service, handler_fn};
pub use shutdown::ShutdownHandle;
pub use socketserver_macros::{handle, hook, server};
pub use transport::{BindAddr, Tcp, TcpOptions, Transport, Udp, UdpOptions, Yields};
pub use transport::{Unix, UnixDgram, UnixDgramOptions, UnixOptions};

/// A TCP server that serves one request at a time (Python's `TCPServer`).
pub type TcpServer<S> = Server<Tcp, Synchronous, S>;

/// A TCP server with a thread per connection (Python's `ThreadingTCPServer`).
pub type ThreadingTcpServer<S> = Server<Tcp, Threading, S>;

/// A TCP server with a bounded pool of worker threads and a bounded queue
/// (Python has none).
pub type PoolTcpServer<S> = Server<Tcp, Pool, S>;

/// A TCP server with a child process per connection (Python's
/// `ForkingTCPServer`).
pub type ForkingTcpServer<S> = Server<Tcp, Forking, S>;

/// A UDP server with a child process per datagram (Python's
/// `ForkingUDPServer`).
pub type ForkingUdpServer<S> = Server<Udp, Forking, S>;

/// A Unix stream socket server with a child process per connection (Python's
/// `ForkingUnixStreamServer`).
pub type ForkingUnixStreamServer<S> = Server<Unix, Forking, S>;

/// A Unix datagram socket server with a child process per datagram (Python's
/// `ForkingUnixDatagramServer`).
pub type ForkingUnixDatagramServer<S> = Server<UnixDgram, Forking, S>;

/// A UDP server that serves one datagram at a time (Python's `UDPServer`).
pub type UdpServer<S> = Server<Udp, Synchronous, S>;

/// A UDP server with a thread per datagram (Python's `ThreadingUDPServer`).
pub type ThreadingUdpServer<S> = Server<Udp, Threading, S>;

/// A Unix stream socket server that serves one connection at a time (Python's
/// `UnixStreamServer`).
pub type UnixStreamServer<S> = Server<Unix, Synchronous, S>;

/// A Unix stream socket server with a thread per connection (Python's
/// `ThreadingUnixStreamServer`).
pub type ThreadingUnixStreamServer<S> = Server<Unix, Threading, S>;

/// A Unix datagram socket server that serves one datagram at a time (Python's
/// `UnixDatagramServer`).
pub type UnixDatagramServer<S> = Server<UnixDgram, Synchronous, S>;

/// A Unix datagram socket server with a thread per datagram (Python's
/// `ThreadingUnixDatagramServer`).
pub type ThreadingUnixDatagramServer<S> = Server<UnixDgram, Threading, S>;

/// The code in `README.md`, compiled as doc tests so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
