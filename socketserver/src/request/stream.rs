//! [`StreamRequest`]: a connection with a buffered reader and writer, Python's
//! `StreamRequestHandler`.

use super::{Close, Request, RequestConfig, sealed};
use crate::report::emit;
use std::cell::RefCell;
use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::{self as unix, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Size of the read and of the write buffer of a request, at most.
const BUFFER_SIZE: usize = 8 * 1024;
/// Size of the read buffer at first: it doubles, up to [`BUFFER_SIZE`], each
/// time a read fills it. A connection whose messages are small keeps a small
/// buffer, which shares its page of memory with others', rather than pages
/// of its own for as long as it stays open.
const FIRST_INPUT_SIZE: usize = 512;
/// How long bytes another connection sends to this one wait for its client
/// to take them, when the server has no `timeout` (which bounds it when
/// set): past it, the client does not keep up, and its connection is
/// closed, rather than holding every sender.
pub(crate) const SEND_WAIT: Duration = Duration::from_secs(5);

/// A connected, blocking byte stream a [`StreamRequest`] is made of:
/// [`TcpStream`], or [`UnixStream`] (with the [`Unix`](crate::Unix) transport).
pub trait Stream: sealed::Sealed + AsFd + fmt::Debug + Send + Sync + 'static {
    /// The address type of the peer.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;

    /// Reads from the stream (through a shared reference, as `&TcpStream` does).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes to the stream.
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Shuts down the reading, writing or both halves.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    /// Sets the timeout of reads.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets the timeout of writes.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Makes reads and writes fail with [`io::ErrorKind::WouldBlock`]
    /// instead of waiting (for an event loop).
    fn set_nonblocking(&self, on: bool) -> io::Result<()>;
}

impl sealed::Sealed for TcpStream {}

impl Stream for TcpStream {
    type Addr = SocketAddr;

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut &*self).read(buf)
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        (&mut &*self).write(buf)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        TcpStream::set_nonblocking(self, on)
    }
}

impl sealed::Sealed for UnixStream {}

impl Stream for UnixStream {
    type Addr = unix::SocketAddr;

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut &*self).read(buf)
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        (&mut &*self).write(buf)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        UnixStream::shutdown(self, how)
    }
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        UnixStream::set_nonblocking(self, on)
    }
}

/// A blocking handler's connection, shared with what reaches it from other
/// threads: a stopping server's closer, and other connections' handlers
/// sending to it ([`Conn::send_to`](super::Conn::send_to)), whose bytes go
/// out between the handler's own writes, never inside one.
pub(super) struct Guarded<S> {
    stream: S,
    /// Whether a whole write is under way (the owner's flush, or another's
    /// send), and what wakes those waiting to write.
    writing: Mutex<Rights>,
    written: Condvar,
    /// Whether other connections may send to it: a `Conn`'s only once what
    /// its `setup` queued (a greeting) has gone, which nothing may overtake;
    /// and nobody's while a write that failed has left a message half sent.
    open_to_sends: AtomicBool,
    /// When its client last took something ([`moment`]): what tells a
    /// client that reads slowly from one that reads nothing.
    last_taken: AtomicU64,
    /// How long another connection's send waits for this client to take
    /// something.
    send_wait: Duration,
}

/// Now, as nanoseconds since the first time this was asked (an `Instant`
/// that fits in an atomic).
fn moment() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Flags of a write to a shared connection: it never waits (the socket is
/// blocking for reads) and never raises SIGPIPE (where the flag exists;
/// elsewhere Rust programs ignore the signal).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

/// Who writes to a shared connection: whether a write is under way, and
/// how many wait to write (woken only if some do: a wake-up is a system
/// call, and each flush gives the right back).
#[derive(Default)]
struct Rights {
    busy: bool,
    waiting: usize,
}

/// The right to write to a connection, given back when dropped.
struct Writing<'a, S>(&'a Guarded<S>);

impl<S> Drop for Writing<'_, S> {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

impl<S> Guarded<S> {
    fn lock(&self) -> MutexGuard<'_, Rights> {
        // A flag and a count, each whole: nothing to repair after a panic.
        self.writing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn give_back(&self) {
        let mut rights = self.lock();
        rights.busy = false;
        if rights.waiting > 0 {
            self.written.notify_all();
        }
    }
}

impl<S: Stream> Guarded<S> {
    /// Takes the right to write, once the write under way has ended.
    fn take(&self) -> Writing<'_, S> {
        let mut rights = self.lock();
        while rights.busy {
            rights.waiting += 1;
            rights = self
                .written
                .wait(rights)
                .unwrap_or_else(PoisonError::into_inner);
            rights.waiting -= 1;
        }
        rights.busy = true;
        Writing(self)
    }

    /// Takes the right to write for another connection's bytes, waiting
    /// while the write under way makes progress; `None` once its client has
    /// taken nothing for `send_wait`.
    fn take_for_send(&self) -> Option<Writing<'_, S>> {
        let mut rights = self.lock();
        let began = moment();
        while rights.busy {
            let last = self.last_taken.load(Ordering::Relaxed).max(began);
            let deadline = last.saturating_add(duration_nanos(self.send_wait));
            let now = moment();
            if now >= deadline {
                return None;
            }
            rights.waiting += 1;
            rights = self
                .written
                .wait_timeout(rights, Duration::from_nanos(deadline - now))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            rights.waiting -= 1;
        }
        rights.busy = true;
        Some(Writing(self))
    }

    /// Writes all of `bytes` without blocking the socket, waiting for room
    /// while the client takes some; fails with [`io::ErrorKind::TimedOut`]
    /// once it has taken nothing for `wait` (with `None`, waits as long as
    /// it takes). How many bytes went, and the first error.
    fn write_watched(&self, bytes: &[u8], wait: Option<Duration>) -> (usize, io::Result<()>) {
        let socket = socket2::SockRef::from(&self.stream);
        let mut sent = 0;
        let mut selector = None;
        let mut deadline = wait.map(|wait| Instant::now() + wait);
        while sent < bytes.len() {
            match socket.send_with_flags(&bytes[sent..], SEND_FLAGS) {
                Ok(0) => {
                    let error = io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the connection accepted no more bytes",
                    );
                    return (sent, Err(error));
                }
                Ok(n) => {
                    sent += n;
                    self.last_taken.store(moment(), Ordering::Relaxed);
                    deadline = wait.map(|wait| Instant::now() + wait);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.wait_for_room(&mut selector, &mut deadline, wait) {
                        Ok(true) => {}
                        Ok(false) => {
                            let error =
                                io::Error::new(io::ErrorKind::TimedOut, "the client took nothing");
                            return (sent, Err(error));
                        }
                        Err(e) => return (sent, Err(e)),
                    }
                }
                Err(e) => return (sent, Err(e)),
            }
        }
        (sent, Ok(()))
    }

    /// Waits until the socket has room again (`true`), or until `deadline`
    /// passes with the client taking nothing (`false`). The kernel says
    /// there is room only once much has gone, which a slow client takes
    /// long to make: so what is still queued in the socket is looked at as
    /// the wait goes on, and each time it went down, the client took some:
    /// `deadline` moves `wait` on.
    fn wait_for_room(
        &self,
        selector: &mut Option<(mio::Poll, mio::Events)>,
        deadline: &mut Option<Instant>,
        wait: Option<Duration>,
    ) -> io::Result<bool> {
        let mut queued = unsent(&self.stream);
        loop {
            let look = Instant::now() + PROGRESS_CHECK;
            let until = deadline.map_or(look, |deadline| deadline.min(look));
            if wait_writable(&self.stream, selector, Some(until))? {
                return Ok(true);
            }
            let now = Instant::now();
            let still = unsent(&self.stream);
            if still < queued {
                self.last_taken.store(moment(), Ordering::Relaxed);
                *deadline = wait.map(|wait| now + wait);
            }
            queued = still;
            if deadline.is_some_and(|deadline| now >= deadline) {
                return Ok(false);
            }
        }
    }

    /// Closes a connection whose client took nothing of what was sent to it
    /// within `send_wait`: the error for the sender.
    fn not_keeping_up(&self) -> io::Error {
        self.force_close();
        let message = format!(
            "a client took nothing for {:?} while bytes from another connection waited for \
             it: closing its connection, which does not keep up",
            self.send_wait
        );
        emit!(log::Level::Warn, "{message}");
        io::Error::new(io::ErrorKind::TimedOut, message)
    }
}

impl<S: Stream> Close for Guarded<S> {
    fn force_close(&self) {
        // Already closed by the peer is fine: all we want is the handler unblocked.
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Writes the bytes on the sender's thread, waiting while the client
    /// takes what is before them and then them; once it has taken nothing
    /// for `send_wait`, closes the connection.
    fn send(&self, bytes: &Arc<[u8]>) -> io::Result<()> {
        let closed = || {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the connection takes nothing from others: it is still being set up, or a \
                 write to it failed",
            )
        };
        if !self.open_to_sends.load(Ordering::Acquire) {
            return Err(closed());
        }
        let Some(_writing) = self.take_for_send() else {
            return Err(self.not_keeping_up());
        };
        // Again, with the right to write: the write before may have failed.
        if !self.open_to_sends.load(Ordering::Acquire) {
            return Err(closed());
        }
        match self.write_watched(bytes, Some(self.send_wait)) {
            (_, Err(e)) if e.kind() == io::ErrorKind::TimedOut => Err(self.not_keeping_up()),
            (_, result) => result,
        }
    }
}

/// How often a write waiting for room in the socket looks at what the
/// client has taken.
const PROGRESS_CHECK: Duration = Duration::from_millis(100);

/// The bytes in `stream`'s send queue (written, and not yet taken by the
/// peer), where the system says; `None` elsewhere, and a wait then sees only
/// the room the system reports.
// No safe wrapper of this `ioctl` exists (std, socket2, mio, rustix): the
// crate's one `unsafe` outside `concurrency/forking.rs`.
#[allow(unsafe_code)]
fn unsent<S: AsFd>(stream: &S) -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut unsent: libc::c_int = 0;
        // SAFETY: `TIOCOUTQ` (`SIOCOUTQ`) on a socket writes one `int`, the
        // bytes in its send queue, through the pointer, which points to
        // `unsent`: alive, aligned and writable for the call. The descriptor
        // is borrowed from `stream`, so it is open for the call.
        let done =
            unsafe { libc::ioctl(stream.as_fd().as_raw_fd(), libc::TIOCOUTQ, &raw mut unsent) };
        (done == 0).then(|| u64::try_from(unsent).unwrap_or(0))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = stream;
        None
    }
}

/// `duration` in nanoseconds, at most `u64::MAX`.
fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Waits until `stream` may take more bytes or `deadline` passes (`false`),
/// on a selector of its own, made on the first wait and kept in `selector`.
fn wait_writable<S: Stream>(
    stream: &S,
    selector: &mut Option<(mio::Poll, mio::Events)>,
    deadline: Option<Instant>,
) -> io::Result<bool> {
    let (poll, events) = match selector {
        Some(selector) => selector,
        None => {
            let poll = mio::Poll::new()?;
            // Edge-triggered, and registering reports the state it is in:
            // nothing is missed between the send that would block and here.
            poll.registry().register(
                &mut mio::unix::SourceFd(&stream.as_fd().as_raw_fd()),
                mio::Token(0),
                mio::Interest::WRITABLE,
            )?;
            selector.insert((poll, mio::Events::with_capacity(1)))
        }
    };
    loop {
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if left.is_some_and(|left| left.is_zero()) {
            return Ok(false);
        }
        match poll.poll(events, left) {
            Ok(()) if !events.is_empty() => return Ok(true),
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes all of `bytes`: how many went, and the first error.
fn write_all<S: Stream>(stream: &S, bytes: &[u8]) -> (usize, io::Result<()>) {
    let mut sent = 0;
    while sent < bytes.len() {
        match stream.write(&bytes[sent..]) {
            Ok(0) => {
                let error = io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the connection accepted no more bytes",
                );
                return (sent, Err(error));
            }
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (sent, Err(e)),
        }
    }
    (sent, Ok(()))
}

/// One connection of a stream server (TCP, or Unix stream sockets), handed to the
/// handler: Python's `StreamRequestHandler`.
///
/// [`rfile`](StreamRequest::rfile) reads through a buffer (it implements
/// [`BufRead`], so `read_line`, `read_until` and `lines` work);
/// [`wfile`](StreamRequest::wfile) writes through one. [`split`](StreamRequest::split)
/// gives both at once, for code that reads and writes in one expression or loop.
///
/// What is written is sent, in as few system calls as it fits in, **before the
/// reader waits for more input** and when the handler returns, so
/// request–reply protocols need no explicit `flush`, and a reply made of many
/// small writes still leaves in one `write`. Call `flush()` on the writer to send
/// at once anyway (for instance before a long computation).
///
/// ```no_run
/// use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
/// use std::io::{self, BufRead, Write};
///
/// let upper = handler_fn(|req: &mut StreamRequest| {
///     let (reader, mut writer) = req.split();
///     for line in reader.lines() {
///         writeln!(writer, "{}", line?.to_uppercase())?;
///     }
///     Ok(())
/// });
/// ThreadingTcpServer::bind("127.0.0.1:9999", upper)?.serve_forever()
/// # ; Ok::<(), io::Error>(())
/// ```
pub struct StreamRequest<S: Stream = TcpStream> {
    io: Io<S>,
    client: S::Addr,
    input: Input,
    /// Shared by the two halves: the reader sends it before it blocks.
    output: RefCell<Vec<u8>>,
}

/// The connection and its timeout: what both halves of a [`StreamRequest`]
/// (and a [`Conn`](super::Conn) under a blocking model) do their I/O through.
pub(super) struct Io<S> {
    stream: Held<S>,
    /// The read and write timeout in force, to say so when it expires.
    timeout: Option<Duration>,
}

/// What has been read and not yet consumed: `buf[pos..end]`.
#[derive(Default)]
struct Input {
    /// Allocated on the first read that goes through it.
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl Input {
    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }
}

impl<S: Stream> sealed::Sealed for StreamRequest<S> {}

impl<S: Stream> Request for StreamRequest<S> {
    type Conn = S;
    type Addr = S::Addr;

    fn client_address(&self) -> &S::Addr {
        &self.client
    }

    fn open(conn: S, client: S::Addr, config: &RequestConfig) -> io::Result<Self> {
        Ok(StreamRequest {
            io: Io::new(conn, config, true)?,
            client,
            input: Input::default(),
            output: RefCell::default(),
        })
    }

    fn closer(&self) -> Option<Arc<dyn Close>> {
        self.io.closer()
    }

    fn refuse(conn: S) {
        Io::refuse(conn);
    }

    fn close(self) -> io::Result<()> {
        let flushed = self.io.flush(&mut self.output.borrow_mut());
        self.io.shutdown_writing();
        flushed
    }
}

impl<S: Stream> StreamRequest<S> {
    /// The buffered reader of the connection (Python's `rfile`).
    ///
    /// It borrows the request; to hold the reader and the writer at once, use
    /// [`split`](StreamRequest::split).
    pub fn rfile(&mut self) -> RFile<'_, S> {
        self.split().0
    }

    /// The buffered writer of the connection (Python's `wfile`); see the type's
    /// documentation for when what it holds is sent.
    pub fn wfile(&mut self) -> WFile<'_, S> {
        self.split().1
    }

    /// The buffered reader and writer at once, so that one can be used while the
    /// other is held:
    ///
    /// ```no_run
    /// # use socketserver::StreamRequest;
    /// # use std::io::{self, BufRead, Write};
    /// # fn handle(req: &mut StreamRequest) -> io::Result<()> {
    /// let (mut reader, mut writer) = req.split();
    /// reader.copy_to(&mut writer)?; // an echo server (io::copy works too)
    /// # Ok(()) }
    /// # fn handle2(req: &mut StreamRequest) -> io::Result<()> {
    /// # let (mut reader, mut writer) = req.split();
    /// // or, with no copy out of the read buffer:
    /// loop {
    ///     let input = reader.fill_buf()?;
    ///     if input.is_empty() {
    ///         break Ok(());
    ///     }
    ///     writer.write_all(input)?;
    ///     let n = input.len();
    ///     reader.consume(n);
    /// }
    /// # }
    /// ```
    ///
    /// The two share the request's buffers: nothing read ahead is lost, and what
    /// is written is still sent before the reader waits for input. They cannot
    /// be sent to other threads (nor can `&StreamRequest`: the request is not
    /// `Sync`); for a full-duplex exchange on two threads, take
    /// [`stream`](StreamRequest::stream) first and share that.
    pub fn split(&mut self) -> (RFile<'_, S>, WFile<'_, S>) {
        let reader = RFile {
            io: &self.io,
            input: &mut self.input,
            output: &self.output,
        };
        let writer = WFile {
            io: &self.io,
            output: &self.output,
        };
        (reader, writer)
    }

    /// The connection itself, for what the buffered reader and writer do not
    /// offer (socket options, `peer_addr`, …).
    ///
    /// Reading or writing here bypasses the buffers: bytes `rfile` has already
    /// read are not seen again, and bytes still in `wfile` would be sent after
    /// yours, so `wfile().flush()` first.
    pub fn stream(&self) -> &S {
        &self.io.stream
    }

    /// The client's address (Python's `client_address`).
    pub fn client_address(&self) -> &S::Addr {
        &self.client
    }

    /// Sets the read and write timeout of this connection (`None`: wait forever),
    /// overriding the server's `timeout`. A read or write through `rfile` or
    /// `wfile` that times out fails with [`io::ErrorKind::TimedOut`].
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.stream.set_read_timeout(timeout)?;
        self.io.stream.set_write_timeout(timeout)?;
        self.io.timeout = timeout;
        Ok(())
    }
}

/// How a request holds its connection: shared with what ends it from
/// another thread (a blocking handler's), or alone (on an event loop, where
/// the loop ends it, and each event reaches the socket with one pointer
/// fewer).
enum Held<S> {
    Shared(Arc<Guarded<S>>),
    Alone(S),
}

impl<S> std::ops::Deref for Held<S> {
    type Target = S;

    fn deref(&self) -> &S {
        match self {
            Held::Shared(guarded) => &guarded.stream,
            Held::Alone(stream) => stream,
        }
    }
}

impl<S: Stream> Io<S> {
    /// A connection with the request's timeout set on it. Other connections
    /// may send to it at once, or (`open_to_sends` false) after its first
    /// flush.
    pub(super) fn new(conn: S, config: &RequestConfig, open_to_sends: bool) -> io::Result<Io<S>> {
        if let Some(timeout) = config.timeout {
            conn.set_read_timeout(Some(timeout))?;
            conn.set_write_timeout(Some(timeout))?;
        }
        Ok(Io {
            stream: Held::Shared(Arc::new(Guarded {
                stream: conn,
                writing: Mutex::default(),
                written: Condvar::new(),
                open_to_sends: AtomicBool::new(open_to_sends),
                last_taken: AtomicU64::new(0),
                send_wait: config.timeout.unwrap_or(SEND_WAIT),
            })),
            timeout: config.timeout,
        })
    }

    /// A connection for an event loop: non-blocking, and without a closer
    /// (the loop ends it).
    pub(super) fn for_loop(conn: S) -> io::Result<Io<S>> {
        conn.set_nonblocking(true)?;
        Ok(Io {
            stream: Held::Alone(conn),
            timeout: None,
        })
    }

    /// What ends the request from another thread: shutting the socket down.
    /// `None` for a connection on an event loop.
    pub(super) fn closer(&self) -> Option<Arc<dyn Close>> {
        match &self.stream {
            Held::Shared(stream) => Some(stream.clone()),
            Held::Alone(_) => None,
        }
    }

    /// Python's `shutdown_request` for a refused connection: the client sees
    /// end of input, not a hang.
    pub(super) fn refuse(conn: S) {
        let _ = conn.shutdown(Shutdown::Write);
    }

    /// Sends our FIN now, even if another copy of the socket stays open (a
    /// forked child's, or the server's registry's until it lets go), and even
    /// when a flush failed: the client must see the end. A connection held
    /// alone (on an event loop) is closed right after, which sends it: no
    /// system call is spent here.
    pub(super) fn shutdown_writing(&self) {
        if let Held::Shared(_) = self.stream {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }

    /// Reads from the socket; a timeout is reported as such, not as the
    /// `WouldBlock` (EAGAIN) a blocking socket returns for it.
    pub(super) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream
            .read(buf)
            .map_err(|e| timed_out(e, self.timeout, "no input"))
    }

    /// Writes to the socket, reporting a timeout as such.
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream
            .write(buf)
            .map_err(|e| timed_out(e, self.timeout, "the client took no output"))
    }

    /// The connection.
    pub(super) fn stream(&self) -> &S {
        &self.stream
    }

    /// Sends all of `output`; on an error, what was not sent stays in it.
    pub(super) fn flush(&self, output: &mut Vec<u8>) -> io::Result<()> {
        let (sent, result) = match &self.stream {
            // Nothing to send, and others may send already: nothing to do
            // (this is before every call of a blocking handler).
            Held::Shared(guarded)
                if output.is_empty() && guarded.open_to_sends.load(Ordering::Acquire) =>
            {
                (0, Ok(()))
            }
            Held::Shared(guarded) => {
                let _writing = guarded.take();
                let flushed = if output.is_empty() {
                    (0, Ok(()))
                } else {
                    // The timeout bounds a wait in which the client takes
                    // nothing, as a blocking write's would.
                    guarded.write_watched(output, self.timeout)
                };
                // Others' bytes come only after all of what was queued (what
                // `setup` queued, the first time): never inside a message
                // that a failed write left half sent. Said before the right
                // to write is given back, which a send waits for.
                guarded
                    .open_to_sends
                    .store(flushed.1.is_ok(), Ordering::Release);
                flushed
            }
            Held::Alone(stream) => write_all(stream, output),
        };
        output.drain(..sent);
        result.map_err(|e| timed_out(e, self.timeout, "the client took no output"))
    }
}

impl<S: Stream> fmt::Debug for StreamRequest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRequest")
            .field("client_address", &self.client)
            .field("stream", &*self.io.stream)
            .field("buffered_input", &self.input.buffered().len())
            .field("buffered_output", &self.output.borrow().len())
            .finish()
    }
}

/// A read or write timeout of a blocking socket surfaces as `WouldBlock`
/// (EAGAIN); say what it is.
fn timed_out(error: io::Error, timeout: Option<Duration>, what: &str) -> io::Error {
    match timeout {
        Some(timeout)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} for {timeout:?} (the connection's timeout)"),
            )
        }
        _ => error,
    }
}

/// The buffered reader of a [`StreamRequest`], from [`StreamRequest::rfile`] or
/// [`StreamRequest::split`]. Before it waits for input, it sends what the
/// request's writer holds.
pub struct RFile<'a, S: Stream> {
    io: &'a Io<S>,
    input: &'a mut Input,
    output: &'a RefCell<Vec<u8>>,
}

impl<S: Stream> RFile<'_, S> {
    /// Writes everything the client sends to `to`, until end of input, and
    /// returns how many bytes that was: [`io::copy`] through the request's
    /// own read buffer, with no buffer of its own. (`io::copy` fills a stack
    /// buffer of 8 KiB with zeros before its first read from a reader it does
    /// not know: a thread-per-connection server pays those pages for every
    /// connection it holds.)
    ///
    /// ```no_run
    /// use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
    ///
    /// let echo = handler_fn(|req: &mut StreamRequest| {
    ///     let (mut reader, mut writer) = req.split();
    ///     reader.copy_to(&mut writer)?;
    ///     Ok(())
    /// });
    /// ThreadingTcpServer::bind("127.0.0.1:7000", echo)?.serve_forever()
    /// # ; Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first error of a read or of a write.
    pub fn copy_to<W: Write + ?Sized>(&mut self, to: &mut W) -> io::Result<u64> {
        let mut copied = 0;
        loop {
            let received = self.fill_buf()?;
            if received.is_empty() {
                return Ok(copied);
            }
            to.write_all(received)?;
            let n = received.len();
            self.consume(n);
            copied += n as u64;
        }
    }

    fn flush_output(&self) -> io::Result<()> {
        // Never borrowed across a call out of this module: this cannot panic.
        self.io.flush(&mut self.output.borrow_mut())
    }
}

impl<S: Stream> Read for RFile<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // A large read with nothing buffered goes straight to the socket.
        if self.input.buffered().is_empty() && buf.len() >= BUFFER_SIZE {
            self.flush_output()?;
            return self.io.read(buf);
        }
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<S: Stream> BufRead for RFile<'_, S> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.input.buffered().is_empty() {
            self.flush_output()?;
            let input = &mut *self.input;
            if input.buf.is_empty() {
                input.buf = vec![0; FIRST_INPUT_SIZE].into_boxed_slice();
            } else if input.end == input.buf.len() && input.buf.len() < BUFFER_SIZE {
                // The last read filled it: more may be coming at once.
                input.buf = vec![0; 2 * input.buf.len()].into_boxed_slice();
            }
            input.pos = 0;
            input.end = 0;
            input.end = self.io.read(&mut input.buf)?;
        }
        Ok(self.input.buffered())
    }

    fn consume(&mut self, amount: usize) {
        self.input.pos = (self.input.pos + amount).min(self.input.end);
    }
}

impl<S: Stream> fmt::Debug for RFile<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RFile")
            .field("stream", &*self.io.stream)
            .field("buffered", &self.input.buffered().len())
            .finish()
    }
}

/// The buffered writer of a [`StreamRequest`], from [`StreamRequest::wfile`] or
/// [`StreamRequest::split`]; see [`StreamRequest`] for when what it holds is sent.
pub struct WFile<'a, S: Stream> {
    io: &'a Io<S>,
    output: &'a RefCell<Vec<u8>>,
}

impl<S: Stream> Write for WFile<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Never borrowed across a call out of this module: this cannot panic.
        let output = &mut *self.output.borrow_mut();
        if output.len() + buf.len() > BUFFER_SIZE {
            self.io.flush(output)?;
        }
        if buf.len() >= BUFFER_SIZE {
            return self.io.write(buf);
        }
        // Grows as needed (up to BUFFER_SIZE) rather than all at once: an
        // idle connection that sent short replies keeps a short buffer.
        output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush(&mut self.output.borrow_mut())
    }
}

impl<S: Stream> fmt::Debug for WFile<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WFile")
            .field("stream", &*self.io.stream)
            .field("buffered", &self.output.borrow().len())
            .finish()
    }
}
