//! [`Conn`]: the buffer-shaped request. Its handler is called with the bytes
//! received so far, consumes what it used, queues its replies, and may close
//! the connection; what it keeps between calls lives in the connection's
//! typed state. It never reads or writes the socket itself, so the same
//! handler runs on a thread of its own (`sync`, `threading`, `pool`,
//! `forking`, where the runtime reads and writes for it) and on an event
//! loop (`event`, where it is called as the socket becomes readable).

use super::stream::Io;
use super::{Close, Request, RequestConfig, Stream, sealed};
use std::fmt;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// The size of a connection's input buffer at first: it doubles whenever a
/// read fills it, so that a connection of small messages keeps a small one.
const FIRST_INPUT_SIZE: usize = 512;
/// How much unconsumed input a connection may hold before its handler is
/// told it consumed nothing of a full buffer, unless a framing helper asked
/// for a longer message ([`Input::line`], [`Input::frame`]).
const INPUT_LIMIT: usize = 64 * 1024;

/// A connection as a buffer-shaped handler sees it: what has come in
/// ([`Input`]), what goes out ([`Output`]), and the handler's own state `St`,
/// made with `St::default()` when the connection opens.
///
/// The handler is called each time bytes arrive, again at once while it
/// consumes some and some are left (so a handler may take one message per
/// call), and once more when the client has ended its input
/// ([`Input::is_ended`]), so that it can write its last reply. What it does
/// not consume is still there, with the bytes that come next, on the next
/// call. What it writes is sent when it returns. It may
/// [`close`](Conn::close) the connection: what it queued is sent first.
///
/// Replies are held in memory until the client takes them, so a handler
/// keeps what it queues bounded. One that answers many pipelined requests in
/// one call stops once it has queued a good amount (say 64 KiB), asks to
/// [`resume_when_sent`](Conn::resume_when_sent) and returns, leaving the rest
/// of the input for the call that comes once that has gone out. (Under
/// `event`, a handler that takes one request per call is not called again
/// on what is left while over 256 KiB is queued.) A reply too large to
/// queue whole (a file) goes a piece per call the same way.
/// Under the blocking models, a connection the server shuts down (at
/// `shutdown_timeout`) looks to the handler like a client that ended its
/// input, and its last reply then fails; under `event`, a closing server
/// does not call the handler again: it sends what is queued, runs `finish`
/// and closes.
///
/// ```no_run
/// use socketserver::{Conn, ThreadingTcpServer, handler_fn};
/// use std::io::{self, Write};
///
/// // Each line back, upper-cased, and the number of lines so far.
/// let upper = handler_fn(|conn: &mut Conn<u64>| {
///     let (input, output, lines) = conn.parts();
///     while let Some(line) = input.line(1024)? {
///         *lines += 1;
///         writeln!(output, "{lines} {}", String::from_utf8_lossy(line).trim_end().to_uppercase())?;
///     }
///     Ok(())
/// });
/// ThreadingTcpServer::bind("127.0.0.1:9000", upper)?.serve_forever()
/// # ; Ok::<(), io::Error>(())
/// ```
pub struct Conn<St = (), S: Stream = TcpStream> {
    io: Io<S>,
    client: S::Addr,
    input: Input,
    output: Output,
    state: St,
    close: bool,
    /// Whether the handler was called once more after the input ended.
    told_end: bool,
    /// Whether input came (or ended) since the handler was last called.
    fresh: bool,
    /// How much unconsumed input the handler was last called with.
    given: Option<usize>,
    /// Whether the handler asked to be called again once the output queued
    /// has gone ([`Conn::resume_when_sent`]).
    resume: bool,
    /// Its name among the server's connections, and the way to the others.
    peer: Option<(ConnId, Arc<dyn Switchboard>)>,
}

/// Names one open connection of a server, for [`Conn::send_to`]: no two
/// connections open at once have the same, and a connection that closed
/// leaves its name to no other, so a message for it is never delivered to
/// the one that comes after it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u64);

impl ConnId {
    /// The name of the `generation`th connection in the registry's place `index`.
    #[doc(hidden)]
    pub fn new(index: u32, generation: u32) -> ConnId {
        ConnId((u64::from(generation) << 32) | u64::from(index))
    }

    /// The place in the registry.
    #[doc(hidden)]
    pub fn index(self) -> usize {
        (self.0 & u64::from(u32::MAX)) as usize
    }

    /// Which connection of that place.
    #[doc(hidden)]
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnId({}#{})", self.index(), self.generation())
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.index(), self.generation())
    }
}

/// The other connections of a server, as a handler reaches them: the
/// registry of open requests.
#[doc(hidden)]
pub trait Switchboard: Send + Sync {
    /// Queues `bytes` to the connection `to`.
    fn send(&self, to: ConnId, bytes: &[u8]) -> io::Result<()>;
    /// Queues `bytes` to every open connection but `from` that can be sent
    /// to; returns how many.
    fn broadcast(&self, from: ConnId, bytes: &[u8]) -> usize;
}

/// The bytes a connection has received and its handler has not consumed.
pub struct Input {
    /// Zeroed once as it grows, then read into again and again.
    buf: Vec<u8>,
    /// `buf[start..end]` is unconsumed.
    start: usize,
    end: usize,
    /// `buf[start..scanned]` holds no `\n`: where [`line`](Input::line)
    /// looks on from, so that a long line coming in pieces is scanned once.
    scanned: usize,
    ended: bool,
    /// Whether `buf` is an event loop's buffer, lent for one turn.
    lent: bool,
    /// How much unconsumed input may be held: [`INPUT_LIMIT`], or more when a
    /// framing helper was asked for a longer message, or what the handler set.
    limit: usize,
    /// Whether the last read filled all the room it had: more was likely
    /// waiting, and the next read gets more room (up to [`INPUT_LIMIT`]),
    /// so that a batch of pipelined requests comes in one read and its
    /// replies leave in one write.
    filled: bool,
}

impl Default for Input {
    fn default() -> Input {
        Input {
            buf: Vec::new(),
            start: 0,
            end: 0,
            scanned: 0,
            ended: false,
            lent: false,
            limit: INPUT_LIMIT,
            filled: false,
        }
    }
}

/// What a connection's handler queued to send.
#[derive(Default)]
pub struct Output {
    buf: Vec<u8>,
    /// Whether `buf` is an event loop's buffer, lent for one turn.
    lent: bool,
}

/// The kinds of state a buffer-shaped handler can keep per connection.
pub trait ConnState: Default + Send + 'static {}

impl<T: Default + Send + 'static> ConnState for T {}

impl<St, S: Stream> Conn<St, S> {
    /// What has come in and is not consumed yet.
    pub fn input(&mut self) -> &mut Input {
        &mut self.input
    }

    /// What goes out when the handler returns.
    pub fn output(&mut self) -> &mut Output {
        &mut self.output
    }

    /// The connection's state, made when it opened.
    pub fn state(&mut self) -> &mut St {
        &mut self.state
    }

    /// The input, the output and the state at once, to read from one while
    /// writing to the other.
    pub fn parts(&mut self) -> (&mut Input, &mut Output, &mut St) {
        (&mut self.input, &mut self.output, &mut self.state)
    }

    /// Queues `bytes` to send (as [`Output::write_all`]).
    pub fn write(&mut self, bytes: &[u8]) {
        self.output.buf.extend_from_slice(bytes);
    }

    /// Closes the connection once what is queued has been sent; the handler
    /// is not called again.
    pub fn close(&mut self) {
        self.close = true;
    }

    /// Asks for the handler to be called again once everything queued so far
    /// has been sent to the client, whether or not more input comes: for a
    /// reply too large to queue whole (a file, a long listing). Queue a
    /// piece, ask for this, and queue the next piece in the next call: the
    /// connection holds one piece at a time, and a client that reads slowly
    /// (or not at all) is sent no faster than it takes them. With nothing
    /// queued, the handler is called again at its connection's next turn
    /// (under `event` and `pool`, after the other connections' turns of that
    /// round; under the blocking models, at once). Under every model; not
    /// after [`close`](Conn::close).
    ///
    /// ```no_run
    /// use socketserver::{Conn, ThreadingTcpServer, handler_fn};
    /// use std::io::{self, Write};
    ///
    /// /// `count\n` sends the numbers 0 to 9,999,999, a line each, 64 KiB at a time.
    /// let count = handler_fn(|conn: &mut Conn<Option<u64>>| {
    ///     if conn.state().is_none() && conn.input().line(16)?.is_some() {
    ///         *conn.state() = Some(0);
    ///     }
    ///     let (_, output, next) = conn.parts();
    ///     let Some(n) = next else { return Ok(()) };
    ///     while *n < 10_000_000 && output.len() < 64 * 1024 {
    ///         writeln!(output, "{n}")?;
    ///         *n += 1;
    ///     }
    ///     if *n < 10_000_000 {
    ///         conn.resume_when_sent();
    ///     } else {
    ///         conn.close();
    ///     }
    ///     Ok(())
    /// });
    /// ThreadingTcpServer::bind("127.0.0.1:9000", count)?.serve_forever()
    /// # ; Ok::<(), io::Error>(())
    /// ```
    pub fn resume_when_sent(&mut self) {
        self.resume = true;
    }

    /// Whether [`close`](Conn::close) was called.
    pub fn is_closing(&self) -> bool {
        self.close
    }

    /// The client's address (Python's `client_address`).
    pub fn client_address(&self) -> &S::Addr {
        &self.client
    }

    /// This connection's name, by which other connections' handlers send to
    /// it ([`send_to`](Conn::send_to)) once its `setup` has returned. A
    /// connection served in a child process (`forking`) has no name among
    /// the others: every such connection returns the same placeholder.
    pub fn id(&self) -> ConnId {
        self.peer
            .as_ref()
            .map_or(ConnId::new(u32::MAX, u32::MAX), |(id, _)| *id)
    }

    /// Sends `bytes` to the connection named `to`, from this connection's
    /// handler: never in the middle of one of that connection's own writes.
    /// To this connection itself, [`write`](Conn::write) instead.
    ///
    /// Under `event` and `pool`, the bytes are queued to that connection, on
    /// whichever event loop watches it, after what it has queued so far, and
    /// this returns at once; a connection whose client falls 4 MiB behind is
    /// closed. Under `threading` and `sync`, they are written here, on this
    /// handler's thread, which waits while that connection's client takes
    /// what is queued before them and then them. A client that takes nothing
    /// for the server's `timeout` (5 s when it has none) does not keep up,
    /// and its connection is closed, so that it holds no sender for longer;
    /// one that reads slowly is waited for. Either way, a connection is
    /// reached only once its `setup` has returned and what it queued (a
    /// greeting) has gone, so nothing overtakes that.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotFound`] when no connection of that name is open
    /// (it has closed, or its `setup` has not returned yet);
    /// [`io::ErrorKind::Unsupported`] under `forking`, where
    /// each connection is served in a process of its own; under the
    /// blocking models, the write's error, or [`io::ErrorKind::TimedOut`]
    /// when that connection's client did not keep up (and was closed).
    pub fn send_to(&self, to: ConnId, bytes: &[u8]) -> io::Result<()> {
        match &self.peer {
            Some((_, peers)) => peers.send(to, bytes),
            None => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "cannot send to connection {to}: this connection is served in a process of \
                     its own (`forking`), apart from the others"
                ),
            )),
        }
    }

    /// Sends `bytes` to every other open connection of the server, as
    /// [`send_to`](Conn::send_to) does; returns to how many it went. This
    /// connection's own copy, if it wants one, goes through
    /// [`write`](Conn::write).
    pub fn broadcast(&self, bytes: &[u8]) -> usize {
        match &self.peer {
            Some((id, peers)) => peers.broadcast(*id, bytes),
            None => 0,
        }
    }

    /// Sends what the handler queued.
    fn flush(&mut self) -> io::Result<()> {
        self.io.flush(&mut self.output.buf)
    }

    /// Reads what the client sends next (waiting for it), or notes the end
    /// of its input; whether the read filled the room it had.
    fn fill(&mut self) -> io::Result<bool> {
        let input = &mut self.input;
        input.compact();
        if input.end >= input.limit() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the handler consumed none of the {} bytes it was given: a message longer \
                     than the connection's input limit",
                    input.end
                ),
            ));
        }
        let batches_grow = input.filled && input.buf.len() < INPUT_LIMIT.min(input.limit());
        if input.end == input.buf.len() || batches_grow {
            let grown = (2 * input.buf.len())
                .max(FIRST_INPUT_SIZE)
                .min(input.limit());
            input.buf.resize(grown, 0);
        }
        let room = input.buf.len() - input.end;
        let n = self.io.read(&mut input.buf[input.end..])?;
        input.filled = n == room;
        input.end += n;
        if n == 0 {
            input.ended = true;
        }
        self.fresh = true;
        Ok(n == room)
    }

    /// Whether the handler is to be called (again) on what it has, and if
    /// so, notes what it is called with: new input (or its end), or what is
    /// left after it consumed some and left some (perhaps another whole
    /// message). Not after [`close`](Conn::close).
    fn wants_turn(&mut self) -> bool {
        self.wants_call(true)
    }

    /// [`wants_turn`](Conn::wants_turn), counting a call asked for with
    /// [`resume_when_sent`](Conn::resume_when_sent) only if `resumes`.
    fn wants_call(&mut self, resumes: bool) -> bool {
        let due = if resumes {
            self.call_due()
        } else {
            let resume = std::mem::replace(&mut self.resume, false);
            let due = self.call_due();
            self.resume = resume;
            due
        };
        if !due {
            return false;
        }
        self.fresh = false;
        if self.output.buf.is_empty() {
            self.resume = false;
        }
        self.told_end = self.input.ended;
        self.given = Some(self.input.unconsumed().len());
        true
    }

    /// Whether the handler is to be called on what it has, without any more
    /// input: [`wants_turn`](Conn::wants_turn), without noting the call.
    pub(crate) fn call_due(&self) -> bool {
        if self.close {
            return false;
        }
        let left = self.input.unconsumed().len();
        let again = self.given.is_some_and(|given| left > 0 && left < given);
        let resumed = self.resume && self.output.buf.is_empty();
        self.fresh || again || resumed || self.input.ended && !self.told_end
    }
}

/// What one read of a connection under an event loop gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filled {
    /// Some bytes, or the end of input; `more`: the read filled the room it
    /// had, so more may be waiting.
    Read { more: bool },
    /// Nothing was waiting.
    Blocked,
}

/// Driving a connection from an event loop: the loop reads, calls the
/// handler and writes when the socket is ready, without ever waiting.
impl<St, S: Stream> Conn<St, S> {
    /// Opens a connection for an event loop: non-blocking, without a
    /// timeout or a closer of its own (the loop keeps the idle timeout and
    /// closes the connection).
    pub(crate) fn open_for_loop(stream: S, client: S::Addr) -> io::Result<Self>
    where
        St: ConnState,
    {
        Ok(Conn::with_io(Io::for_loop(stream)?, client))
    }

    fn with_io(io: Io<S>, client: S::Addr) -> Self
    where
        St: ConnState,
    {
        Conn {
            io,
            client,
            input: Input::default(),
            output: Output::default(),
            state: St::default(),
            close: false,
            told_end: false,
            fresh: false,
            given: None,
            resume: false,
            peer: None,
        }
    }

    /// The connection, to register with a selector.
    pub(crate) fn stream(&self) -> &S {
        self.io.stream()
    }

    /// Reads once, without waiting: into `scratch`, an event loop's buffer,
    /// when the connection holds no unconsumed input (so that an idle
    /// connection holds no buffer of its own), or after what it holds.
    /// Nothing after a [`close`](Conn::close) or the end of input.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::WouldBlock`] never (that is [`Filled::Blocked`]);
    /// [`io::ErrorKind::InvalidData`] when the handler consumed nothing of a
    /// full input (see [`Input::set_limit`]); the read's own error.
    pub(crate) fn read_ready(&mut self, scratch: &mut Vec<u8>) -> io::Result<Filled> {
        let input = &mut self.input;
        if self.close || input.ended {
            return Ok(Filled::Blocked);
        }
        let room = if input.start == input.end && !input.lent && !scratch.is_empty() {
            std::mem::swap(&mut input.buf, scratch);
            input.lent = true;
            (input.start, input.end, input.scanned) = (0, 0, 0);
            input.buf.len().min(input.limit())
        } else {
            // As `fill` makes room.
            0
        };
        let result = if input.lent {
            self.io.read(&mut input.buf[..room]).map(|n| {
                input.end = n;
                input.ended = n == 0;
                self.fresh = true;
                Filled::Read {
                    more: n > 0 && n == room,
                }
            })
        } else {
            self.fill().map(|full| Filled::Read { more: full })
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Filled::Blocked),
            other => other,
        }
    }

    /// Calls `handle` for what came, as often as the blocking adapter would:
    /// once for new input (or its end), and again while it consumes some and
    /// leaves some. What it writes goes into `scratch`, an event loop's
    /// buffer, when the connection has nothing queued of its own.
    pub(crate) fn handle_ready<E>(
        &mut self,
        scratch: &mut Vec<u8>,
        max_queued: usize,
        mut handle: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.output.buf.is_empty() && !self.output.lent {
            std::mem::swap(&mut self.output.buf, scratch);
            self.output.lent = true;
        }
        // Past `max_queued`, the next call waits until the queue has gone
        // down: a handler that takes one pipelined request per call cannot
        // queue replies without bound. A call asked for with
        // `resume_when_sent` is one per turn: one that asks again with
        // nothing queued waits for the connection's next turn, after the
        // others'.
        let mut resumes = true;
        while self.output.buf.len() <= max_queued && self.wants_call(resumes) {
            resumes = false;
            handle(self)?;
        }
        Ok(())
    }

    /// Writes what is queued, as far as the socket takes it without
    /// waiting: whether all of it went.
    pub(crate) fn write_ready(&mut self) -> io::Result<bool> {
        match self.flush() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the event loop's buffers back, keeping (in buffers of the
    /// connection's own, as small as they can be) only the unconsumed input
    /// and the unsent output: an idle connection holds no buffer at all.
    pub(crate) fn settle(&mut self, input_scratch: &mut Vec<u8>, output_scratch: &mut Vec<u8>) {
        let input = &mut self.input;
        let left = input.end - input.start;
        if input.lent {
            let mut own = Vec::new();
            if left > 0 {
                own = vec![0; left.max(FIRST_INPUT_SIZE).min(input.limit().max(left))];
                own[..left].copy_from_slice(&input.buf[input.start..input.end]);
            }
            input.scanned = input.scanned.saturating_sub(input.start);
            std::mem::swap(&mut input.buf, input_scratch);
            input.buf = own;
            (input.start, input.end) = (0, left);
            input.lent = false;
        } else if left == 0 && !input.buf.is_empty() {
            input.buf = Vec::new();
            (input.start, input.end, input.scanned) = (0, 0, 0);
        }
        let output = &mut self.output;
        if output.lent {
            let own = output.buf.as_slice().to_vec();
            output.buf.clear();
            std::mem::swap(&mut output.buf, output_scratch);
            output.buf = own;
            output.lent = false;
        } else if output.buf.is_empty() && output.buf.capacity() > 0 {
            output.buf = Vec::new();
        }
    }

    /// How many bytes are queued to send.
    pub(crate) fn queued(&self) -> usize {
        self.output.buf.len()
    }

    /// Whether the handler is done with the connection: it closed it, or
    /// was told the input ended.
    pub(crate) fn is_done(&self) -> bool {
        self.close || self.told_end
    }
}

impl Input {
    /// The unconsumed bytes.
    pub fn bytes(&self) -> &[u8] {
        self.unconsumed()
    }

    /// Marks the first `n` unconsumed bytes as used (at most all of them).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
    }

    /// Sets how much unconsumed input the connection may hold (64 KiB
    /// unless set; [`line`](Input::line) and [`frame`](Input::frame) raise it
    /// to the longest message they were asked for). A handler that consumes
    /// nothing of that much input is stopped with an error, so that a client
    /// cannot grow the server's memory without bound.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Whether the client has ended its input (shut down its writing half,
    /// or closed): no byte will come after those here.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The next line, through its `\n`, consumed: `None` until a whole line
    /// has come (then the rest of it is awaited). At the end of input, the
    /// last line without a `\n` is returned too.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidData`] when the line is longer than `max`
    /// bytes, its `\n` included: the connection is closed and the error
    /// reported, rather than buffering without a bound.
    pub fn line(&mut self, max: usize) -> io::Result<Option<&[u8]>> {
        self.limit = self.limit.max(max);
        let from = self.scanned.max(self.start);
        let newline = self.buf[from..self.end].iter().position(|&b| b == b'\n');
        let len = self.end - self.start;
        let end = match newline {
            Some(at) => from + at + 1 - self.start,
            None if self.ended && len > 0 => len,
            None => {
                self.scanned = self.end;
                if len >= max {
                    return Err(too_long("line", len, max));
                }
                return Ok(None);
            }
        };
        if end > max {
            return Err(too_long("line", end, max));
        }
        let start = self.start;
        self.start += end;
        Ok(Some(&self.buf[start..start + end]))
    }

    /// The next frame of a 4-byte big-endian length then that many bytes,
    /// consumed: its payload, or `None` until all of it has come.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidData`] when the length is over `max`, or when
    /// the input ends inside a frame.
    pub fn frame(&mut self, max: usize) -> io::Result<Option<&[u8]>> {
        self.limit = self.limit.max(max.saturating_add(4));
        let bytes = self.unconsumed();
        let truncated = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the input ended inside a frame ({} bytes of it came)",
                    bytes.len()
                ),
            )
        };
        let Some(header) = bytes.first_chunk::<4>() else {
            return match self.ended && !bytes.is_empty() {
                true => Err(truncated()),
                false => Ok(None),
            };
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > max {
            return Err(too_long("frame", len, max));
        }
        if bytes.len() - 4 < len {
            return match self.ended {
                true => Err(truncated()),
                false => Ok(None),
            };
        }
        let start = self.start + 4;
        self.start += 4 + len;
        Ok(Some(&self.buf[start..start + len]))
    }

    fn unconsumed(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn limit(&self) -> usize {
        // At least one byte, so that a read always has room.
        self.limit.max(1)
    }

    /// Moves the unconsumed bytes to the front, making room behind them.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.scanned = self.scanned.saturating_sub(self.start);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

fn too_long(what: &str, len: usize, max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a {what} of {len} bytes or more, over the limit of {max}"),
    )
}

impl Output {
    /// How many bytes are queued.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Queues a frame of `payload` with its 4-byte big-endian length (the
    /// framing of [`Input::frame`]).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] when `payload` is 4 GiB or longer.
    pub fn write_frame(&mut self, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a frame of {} bytes is too long for its length field",
                    payload.len()
                ),
            )
        })?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(payload);
        Ok(())
    }
}

/// Queues the bytes; never fails and never blocks.
impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<St, S: Stream> sealed::Sealed for Conn<St, S> {}

impl<St: ConnState, S: Stream> Request for Conn<St, S> {
    type Conn = S;
    type Addr = S::Addr;

    const TURNS: bool = true;

    fn client_address(&self) -> &S::Addr {
        &self.client
    }

    fn open(conn: S, client: S::Addr, config: &RequestConfig) -> io::Result<Self> {
        // Open to others' sends from its first flush: what `setup` queued
        // goes out before anything another connection sends it.
        Ok(Conn::with_io(Io::new(conn, config, false)?, client))
    }

    fn join(&mut self, id: ConnId, peers: Arc<dyn Switchboard>) {
        self.peer = Some((id, peers));
    }

    fn closer(&self) -> Option<Arc<dyn Close>> {
        self.io.closer()
    }

    fn refuse(conn: S) {
        Io::refuse(conn);
    }

    fn next_turn(&mut self) -> io::Result<bool> {
        self.flush()?;
        if self.wants_turn() {
            return Ok(true);
        }
        if self.close || self.input.ended {
            return Ok(false);
        }
        // Waits for input (or its end): then there is a turn.
        self.fill()?;
        Ok(self.wants_turn())
    }

    fn close(mut self) -> io::Result<()> {
        let flushed = self.flush();
        self.io.shutdown_writing();
        flushed
    }
}

impl<St, S: Stream> fmt::Debug for Conn<St, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("client_address", &self.client)
            .field("input", &self.input.unconsumed().len())
            .field("input_ended", &self.input.ended)
            .field("output", &self.output.buf.len())
            .field("closing", &self.close)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("unconsumed", &self.unconsumed().len())
            .field("ended", &self.ended)
            .finish()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("queued", &self.buf.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(bytes: &[u8], ended: bool) -> Input {
        Input {
            buf: bytes.to_vec(),
            end: bytes.len(),
            ended,
            ..Input::default()
        }
    }

    #[test]
    fn lines_come_whole_and_the_rest_waits() {
        let mut input = input(b"one\ntwo\nthr", false);
        assert_eq!(input.line(16).unwrap(), Some(&b"one\n"[..]));
        assert_eq!(input.line(16).unwrap(), Some(&b"two\n"[..]));
        assert_eq!(input.line(16).unwrap(), None);
        assert_eq!(input.bytes(), b"thr");
    }

    #[test]
    fn the_last_line_without_a_newline_comes_at_the_end_of_input() {
        let mut input = input(b"last", true);
        assert_eq!(input.line(16).unwrap(), Some(&b"last"[..]));
        assert_eq!(input.line(16).unwrap(), None);
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_whether_or_not_it_is_whole() {
        for bytes in [&b"0123456789\n"[..], &b"0123456789"[..]] {
            let error = input(bytes, false).line(8).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(error.to_string().contains("over the limit of 8"), "{error}");
        }
        assert_eq!(
            input(b"1234567\n", false).line(8).unwrap(),
            Some(&b"1234567\n"[..])
        );
    }

    #[test]
    fn frames_come_whole() {
        let mut bytes = Vec::new();
        let mut output = Output::default();
        output.write_frame(b"hello").unwrap();
        output.write_frame(b"").unwrap();
        bytes.extend_from_slice(&output.buf);
        bytes.extend_from_slice(&[0, 0, 0, 9, b'p']);
        let mut input = input(&bytes, false);
        assert_eq!(input.frame(64).unwrap(), Some(&b"hello"[..]));
        assert_eq!(input.frame(64).unwrap(), Some(&b""[..]));
        assert_eq!(input.frame(64).unwrap(), None);
        assert_eq!(input.bytes(), &[0, 0, 0, 9, b'p']);
        input.ended = true;
        let error = input.frame(64).unwrap_err();
        assert!(
            error.to_string().contains("ended inside a frame"),
            "{error}"
        );
    }

    #[test]
    fn a_frame_over_the_limit_is_an_error_before_it_comes() {
        let error = input(&[0, 1, 0, 0], false).frame(1024).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("65536"), "{error}");
    }

    #[test]
    fn asking_for_longer_messages_raises_the_input_limit() {
        let mut input = Input::default();
        assert_eq!(input.limit(), INPUT_LIMIT);
        let _ = input.frame(1 << 20);
        assert_eq!(input.limit(), (1 << 20) + 4);
    }

    /// What a read appends.
    fn push(input: &mut Input, bytes: &[u8]) {
        input.compact();
        input.buf.truncate(input.end);
        input.buf.extend_from_slice(bytes);
        input.end = input.buf.len();
    }

    #[test]
    fn a_line_that_comes_in_pieces_is_found_whole() {
        let mut input = input(b"ab", false);
        assert_eq!(input.line(64).unwrap(), None);
        push(&mut input, b"cd");
        assert_eq!(input.line(64).unwrap(), None);
        push(&mut input, b"e\nf");
        assert_eq!(input.line(64).unwrap(), Some(&b"abcde\n"[..]));
        assert_eq!(input.line(64).unwrap(), None);
        push(&mut input, b"g\n");
        assert_eq!(input.line(64).unwrap(), Some(&b"fg\n"[..]));
    }

    #[test]
    fn consuming_more_than_there_is_consumes_all() {
        let mut input = input(b"hello", false);
        input.consume(2);
        input.consume(usize::MAX);
        assert_eq!(input.bytes(), b"");
    }

    #[test]
    fn the_limit_can_be_set_lower_or_higher() {
        let mut input = Input::default();
        input.set_limit(100);
        assert_eq!(input.limit(), 100);
        let _ = input.line(1000);
        assert_eq!(input.limit(), 1000);
    }

    #[test]
    fn consuming_then_compacting_keeps_the_rest() {
        let mut input = input(b"abcdef", false);
        input.consume(4);
        input.compact();
        assert_eq!(input.bytes(), b"ef");
        input.consume(10);
        assert_eq!(input.bytes(), b"");
    }
}
