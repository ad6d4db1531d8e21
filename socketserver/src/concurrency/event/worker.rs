//! One worker of [`Event`](super::Event): a thread running an event loop on
//! a [`Selector`] of its own, serving every connection handed to it, and
//! an inbox through which other threads reach it (new connections,
//! datagrams to serve, bytes for a connection, closings, the stop).

use super::connection::SEND_LIMIT;
use crate::report::{catch_panic, emit};
use crate::request::Close;
use crate::selector::{Events, Interest, Key, Ready, Selector, Waker};
use mio::unix::SourceFd;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How many events one wait takes at most.
const EVENTS: usize = 1024;
/// The size of the worker's read buffer, which every connection reads
/// into: the most one connection reads in one turn (unless its handler
/// holds a partial message, which it reads after).
const READ_BUFFER: usize = 64 * 1024;
/// How often idle connections are looked for, at most and at least, as a
/// share of the timeout: a connection is closed between `timeout` and
/// `timeout` and a quarter after its last input.
const SWEEP_SHARE: u32 = 4;
const SWEEP_AT_LEAST: Duration = Duration::from_millis(10);
const SWEEP_AT_MOST: Duration = Duration::from_secs(1);
/// How many datagrams may wait for one worker: past that on every worker,
/// the server stops receiving (they wait in the socket's buffer) until a
/// worker has served some.
pub(super) const DATAGRAM_BACKLOG: usize = 1024;

/// What other threads ask of a worker.
pub(super) enum Message {
    /// A connection to open and serve.
    Open(Box<dyn Open>),
    /// A datagram's request to serve, here and now.
    Run(Box<dyn FnOnce() + Send>),
    /// Bytes for a connection, from another connection's handler.
    Send(Key, Arc<[u8]>),
    /// End a connection (the server gave up waiting for it).
    Close(Key),
    /// The server is closing: send what is queued, close every connection
    /// (by the deadline at the latest), and end.
    Stop(Option<Instant>),
    /// A connection opened on another thread ([`Offload`]), to serve.
    Opened(Box<dyn Drive>),
    /// A connection back from a turn on another thread, with what it asked
    /// for next.
    Back(Key, Box<dyn Drive>, Next),
}

/// Where a worker runs the turns of its connections (and their `setup` and
/// `finish`) when not on its own thread: the threads of a
/// [`Pool`](crate::Pool), whose handlers may block. The loop then only
/// watches the sockets: a connection waiting for input costs no thread.
pub(crate) trait Offload: Send + Sync {
    /// Runs `task` on another thread.
    fn offload(&self, task: Box<dyn FnOnce() + Send>);
}

/// What happened to a connection while its turn ran on another thread.
#[derive(Default)]
struct Away {
    /// What the socket became ready for meanwhile (edges are not repeated).
    readiness: Option<Readiness>,
    /// The server gave up on it ([`Message::Close`]).
    close: bool,
    /// Bytes other connections sent it.
    sends: Vec<Arc<[u8]>>,
    /// How many bytes `sends` holds.
    sent: usize,
    /// More than [`SEND_LIMIT`] was sent to it meanwhile (and dropped):
    /// closed when back, as a connection whose client does not keep up.
    overflow: Option<usize>,
}

/// A connection on its way to a worker.
pub(super) trait Open: Send {
    /// Opens the connection and runs `setup`; `None` when it ended there
    /// (what went wrong was reported).
    fn open(self: Box<Self>, now: Instant) -> Option<Box<dyn Drive>>;
}

/// A connection a worker serves, as the worker sees it.
pub(super) trait Drive: Send {
    /// The socket, to register and unregister.
    fn fd(&self) -> RawFd;
    /// Records where the connection is served, in the registry of open
    /// requests: what closes it and sends to it from other threads.
    fn attach(&mut self, remote: Arc<Remote>);
    /// One turn, on readiness or when the connection asked for another:
    /// write what is queued, read once, call the handler, write.
    fn turn(&mut self, buffers: &mut Buffers, readiness: Readiness) -> Next;
    /// Queues bytes another connection's handler sent, and writes.
    fn deliver(&mut self, buffers: &mut Buffers, bytes: &[u8]) -> Next;
    /// Reports that `more` bytes sent to it by other connections were not
    /// queued: past [`SEND_LIMIT`] its client is not keeping up, and it is
    /// closed.
    fn refuse_sends(&mut self, more: usize);
    /// The idle timeout of the connection, if it has one.
    fn timeout(&self) -> Option<Duration>;
    /// When the client last sent something or took some output.
    fn last_active(&self) -> Instant;
    /// Reports that the client sent nothing and took nothing for `timeout`.
    fn time_out(&mut self, timeout: Duration);
    /// The server is closing: the handler is not called again; `Close`
    /// once what is queued is sent.
    fn stop(&mut self) -> Next;
    /// Runs `finish`, sends what it can, closes the connection and gives
    /// its place in the registry back.
    fn end(self: Box<Self>);
}

/// What a connection's turn leaves for the worker to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Wait for the socket's next readiness.
    Wait,
    /// Give it another turn after the others (it has more input waiting).
    Again,
    /// End it.
    Close,
}

/// What the socket is ready for.
#[derive(Clone, Copy, Debug)]
pub(super) struct Readiness {
    pub(super) readable: bool,
    pub(super) writable: bool,
    /// The client ended its input (or the connection broke): what is left
    /// to read ends with the end of input, which raises no further edge.
    pub(super) read_closed: bool,
    /// The turn the connection asked for ([`Next::Again`]), not an event.
    pub(super) again: bool,
}

impl Readiness {
    /// Both: what either saw.
    fn merge(self, other: Readiness) -> Readiness {
        Readiness {
            readable: self.readable || other.readable,
            writable: self.writable || other.writable,
            read_closed: self.read_closed || other.read_closed,
            again: self.again || other.again,
        }
    }

    /// A turn asked for by the connection itself.
    const AGAIN: Readiness = Readiness {
        readable: false,
        writable: false,
        read_closed: false,
        again: true,
    };

    fn of(ready: &Ready) -> Readiness {
        // An error or a hang-up is found by the read or write it makes fail.
        let broken = ready.is_error();
        Readiness {
            readable: ready.is_readable() || ready.is_read_closed() || broken,
            writable: ready.is_writable() || ready.is_write_closed() || broken,
            read_closed: ready.is_read_closed() || broken,
            again: false,
        }
    }
}

/// The worker's buffers, lent to each connection for its turn, so that a
/// connection keeps buffers of its own only for unconsumed input and
/// unsent output.
pub(super) struct Buffers {
    pub(super) input: Vec<u8>,
    pub(super) output: Vec<u8>,
    /// When this turn of the loop began.
    pub(super) now: Instant,
}

impl Buffers {
    fn new() -> Buffers {
        Buffers {
            input: vec![0; READ_BUFFER],
            output: Vec::new(),
            now: Instant::now(),
        }
    }

    /// Runs `conn`'s turn with these buffers.
    fn turn(&mut self, conn: &mut dyn Drive, readiness: Readiness) -> Next {
        let next = guard("a connection's turn", || conn.turn(self, readiness));
        // A handler may have replaced its input whole (`mem::take`), taking
        // the buffer with it.
        if self.input.len() != READ_BUFFER {
            self.input = vec![0; READ_BUFFER];
        }
        next
    }
}

thread_local! {
    /// The buffers of a thread that runs offloaded turns.
    static OFFLOADED: RefCell<Option<Buffers>> = const { RefCell::new(None) };
}

/// Runs `conn`'s turn on this thread, one an [`Offload`] runs tasks on.
fn offloaded_turn(conn: &mut dyn Drive, readiness: Readiness) -> Next {
    OFFLOADED.with(|buffers| {
        let mut buffers = buffers.borrow_mut();
        let buffers = buffers.get_or_insert_with(Buffers::new);
        buffers.now = Instant::now();
        buffers.turn(conn, readiness)
    })
}

/// A worker's inbox, and what wakes it.
pub(super) struct Inbox {
    queue: Mutex<Vec<Message>>,
    waker: Waker,
    /// Connections handed to the worker and not yet ended: the server hands
    /// the next to the worker with the fewest.
    load: AtomicUsize,
    /// Datagrams handed to the worker and not yet served.
    datagrams: AtomicUsize,
    /// Wakes the server's loop when the worker takes datagrams again.
    wake_loop: Waker,
    /// Cleared when the worker's loop has ended: nothing more goes to it.
    alive: AtomicBool,
    /// Set, under the queue's lock, before the worker reads its inbox for
    /// the last time: a connection handed back after that is ended by
    /// whoever hands it back ([`Inbox::hand_back`]), not left in a queue
    /// nobody reads.
    closed: AtomicBool,
}

impl Inbox {
    pub(super) fn new(waker: Waker, wake_loop: Waker) -> Inbox {
        Inbox {
            queue: Mutex::new(Vec::new()),
            waker,
            load: AtomicUsize::new(0),
            datagrams: AtomicUsize::new(0),
            wake_loop,
            alive: AtomicBool::new(true),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Message>> {
        // A push or a swap: nothing to repair after a panic.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `message` to the worker, waking it only if its inbox was empty
    /// (it empties the whole inbox each time it wakes).
    pub(super) fn push(&self, message: Message) {
        match message {
            Message::Open(_) => {
                self.load.fetch_add(1, Ordering::Relaxed);
            }
            Message::Run(_) => {
                self.datagrams.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        let queue = self.lock();
        if self.closed.load(Ordering::Acquire) {
            // The loop has ended: what comes now is dropped, after the lock
            // (a connection's ticket, dropped with it, takes the registry's).
            drop(queue);
            if let Message::Open(_) = message {
                self.ended();
            }
            drop(message);
            return;
        }
        self.enqueue(queue, message);
    }

    fn enqueue(&self, mut queue: MutexGuard<'_, Vec<Message>>, message: Message) {
        let was_empty = queue.is_empty();
        queue.push(message);
        drop(queue);
        if was_empty && let Err(e) = self.waker.wake() {
            emit!(
                log::Level::Error,
                "cannot wake an event loop ({e}): what was handed to it waits for its next event"
            );
        }
    }

    /// Hands a connection back from another thread ([`Message::Back`],
    /// [`Message::Opened`]); if the worker's loop has ended (it stopped at
    /// its deadline while the connection's turn ran), ends the connection
    /// here instead.
    fn hand_back(&self, message: Message) {
        let queue = self.lock();
        if !self.closed.load(Ordering::Acquire) {
            self.enqueue(queue, message);
            return;
        }
        drop(queue);
        if let Message::Back(_, conn, _) | Message::Opened(conn) = message {
            // `end` reports what `finish` does; a panic of this crate's own
            // must not escape to the thread that handed it back.
            let _ = catch_panic(AssertUnwindSafe(|| conn.end()));
            self.ended();
        }
    }

    pub(super) fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    /// Whether the worker can take one more datagram now.
    pub(super) fn takes_datagrams(&self) -> bool {
        self.is_alive() && self.datagrams.load(Ordering::Relaxed) < DATAGRAM_BACKLOG
    }

    /// Whether the worker's loop still runs.
    pub(super) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    fn ended(&self) {
        self.load.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection ended on another thread ([`Offload`]): the worker, which
    /// may be stopping and waiting for its last one, is woken to see it.
    fn ended_elsewhere(&self) {
        self.ended();
        if let Err(e) = self.waker.wake() {
            emit!(
                log::Level::Error,
                "cannot wake an event loop ({e}); a stopping server waits for its deadline"
            );
        }
    }

    /// A datagram was served: at the backlog, the server's loop, which
    /// stopped receiving, may receive again.
    fn served(&self) {
        if self.datagrams.fetch_sub(1, Ordering::Relaxed) == DATAGRAM_BACKLOG
            && let Err(e) = self.wake_loop.wake()
        {
            emit!(
                log::Level::Error,
                "cannot wake the server loop ({e}); it receives again within its poll_interval"
            );
        }
    }
}

/// A connection's place on its worker, as the registry of open requests
/// holds it: how other threads close it and send to it.
pub(super) struct Remote {
    inbox: Arc<Inbox>,
    key: Key,
}

impl Close for Remote {
    fn force_close(&self) {
        self.inbox.push(Message::Close(self.key));
    }

    fn send(&self, bytes: &Arc<[u8]>) -> io::Result<()> {
        self.inbox.push(Message::Send(self.key, Arc::clone(bytes)));
        Ok(())
    }
}

/// A worker's event loop.
pub(super) struct Worker {
    selector: Selector<Option<Box<dyn Drive>>>,
    waker: Key,
    inbox: Arc<Inbox>,
    /// Emptied from the inbox in one swap, and kept for the next.
    messages: Vec<Message>,
    buffers: Buffers,
    /// Connections with more input waiting than their last turn took: they
    /// get another turn after every connection that was ready.
    again: Vec<Key>,
    /// The connections' idle timeout (the same for all of a server's).
    timeout: Option<Duration>,
    next_sweep: Option<Instant>,
    /// Set by [`Message::Stop`]: when the last connections are closed anyway.
    stopping: Option<Option<Instant>>,
    /// How long to look for more work after a round that had some, before
    /// sleeping ([`Event::busy_poll`](super::Event::busy_poll)).
    busy_poll: Duration,
    /// Until when to look, not sleep.
    polling_until: Option<Instant>,
    /// Where turns run, when not here.
    offload: Option<Arc<dyn Offload>>,
    /// The connections whose turn runs elsewhere now (their slot is empty).
    away: HashMap<Key, Away>,
}

impl Worker {
    /// A worker and its inbox, on a selector of its own; `wake_loop` wakes
    /// the server's loop.
    pub(super) fn new(
        wake_loop: Waker,
        busy_poll: Duration,
        offload: Option<Arc<dyn Offload>>,
    ) -> io::Result<(Worker, Arc<Inbox>)> {
        let mut selector = Selector::new()?;
        let (key, waker) = selector.waker(None)?;
        let inbox = Arc::new(Inbox::new(waker, wake_loop));
        let worker = Worker {
            selector,
            waker: key,
            inbox: Arc::clone(&inbox),
            messages: Vec::new(),
            buffers: Buffers::new(),
            again: Vec::new(),
            timeout: None,
            next_sweep: None,
            stopping: None,
            busy_poll,
            polling_until: None,
            offload,
            away: HashMap::new(),
        };
        Ok((worker, inbox))
    }

    /// Serves until told to stop and every connection is closed.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS);
        let mut again = Vec::new();
        loop {
            // Done when no connection is left: none watched, and none on
            // its way here or ending elsewhere.
            if self.stopping.is_some() && self.selector.len() == 1 && self.inbox.load() == 0 {
                break;
            }
            let wait = self.wait();
            if let Err(e) = self.selector.select(&mut events, wait) {
                // Only a broken selector fails; the connections on it
                // cannot be served any more.
                emit!(
                    log::Level::Error,
                    "an event loop failed ({e}); closing its {} connection(s)",
                    self.selector.len() - 1
                );
                break;
            }
            self.buffers.now = Instant::now();
            if !events.is_empty() && !self.busy_poll.is_zero() {
                self.polling_until = self.buffers.now.checked_add(self.busy_poll);
            }
            // The turns asked for in the last round, taken after this
            // round's ready connections: a connection with more input gets
            // one turn per round, as every other.
            mem::swap(&mut again, &mut self.again);
            let mut inbox = false;
            for ready in events.iter() {
                if ready.key() == self.waker {
                    inbox = true;
                } else {
                    self.drive(ready.key(), Readiness::of(&ready));
                }
            }
            for key in again.drain(..) {
                self.drive(key, Readiness::AGAIN);
            }
            if inbox {
                self.read_inbox();
            }
            self.sweep();
            if let Some(Some(deadline)) = self.stopping
                && self.buffers.now >= deadline
            {
                break;
            }
        }
        self.inbox.alive.store(false, Ordering::Relaxed);
        self.stopping.get_or_insert(None);
        self.close_all();
    }

    /// How long to wait for events: not at all while connections wait for
    /// another turn or the worker polls after some work, else until the next
    /// look for idle connections or the end of a stop.
    fn wait(&self) -> Option<Duration> {
        if !self.again.is_empty()
            || self
                .polling_until
                .is_some_and(|until| Instant::now() < until)
        {
            return Some(Duration::ZERO);
        }
        let deadline = self.stopping.flatten();
        let until = match (deadline, self.next_sweep) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(until.saturating_duration_since(Instant::now()))
    }

    fn drive(&mut self, key: Key, readiness: Readiness) {
        if let Some(away) = self.away.get_mut(&key) {
            away.readiness = Some(match away.readiness {
                Some(seen) => seen.merge(readiness),
                None => readiness,
            });
            return;
        }
        let Some(slot) = self.selector.get_mut(key) else {
            // Closed earlier in this turn.
            return;
        };
        if let Some(offload) = &self.offload {
            let Some(mut conn) = slot.take() else {
                return;
            };
            self.away.insert(key, Away::default());
            let inbox = Arc::clone(&self.inbox);
            offload.offload(Box::new(move || {
                let next = offloaded_turn(conn.as_mut(), readiness);
                inbox.hand_back(Message::Back(key, conn, next));
            }));
            return;
        }
        let Some(conn) = slot else {
            return;
        };
        let next = self.buffers.turn(conn.as_mut(), readiness);
        self.then(key, next);
    }

    /// A connection is back from its turn elsewhere: what came meanwhile is
    /// dealt with as if it came now.
    fn back(&mut self, key: Key, mut conn: Box<dyn Drive>, next: Next) {
        let away = self.away.remove(&key).unwrap_or_default();
        let Some(slot) = self.selector.get_mut(key) else {
            // Not possible (an away connection stays registered); ended all
            // the same rather than lost.
            self.end(conn);
            return;
        };
        if next == Next::Close || away.close {
            *slot = Some(conn);
            self.close(key);
            return;
        }
        if let Some(sent) = away.overflow {
            conn.refuse_sends(sent);
            *slot = Some(conn);
            self.close(key);
            return;
        }
        *slot = Some(conn);
        for bytes in away.sends {
            self.send(key, &bytes);
        }
        if self.stopping.is_some() {
            if let Some(Some(conn)) = self.selector.get_mut(key) {
                let next = conn.stop();
                // A writable edge seen while away: the rest of the output
                // goes now, as no new edge would come for it (input no
                // longer matters).
                match away.readiness {
                    Some(readiness) if readiness.writable && next != Next::Close => {
                        self.drive(key, readiness);
                    }
                    _ => self.then(key, next),
                }
            }
            return;
        }
        match (next, away.readiness) {
            (Next::Again, Some(readiness)) => self.drive(key, readiness.merge(Readiness::AGAIN)),
            (_, Some(readiness)) => self.drive(key, readiness),
            (next, None) => self.then(key, next),
        }
    }

    /// Queues bytes another connection sent to this one, and writes.
    fn send(&mut self, key: Key, bytes: &Arc<[u8]>) {
        if let Some(away) = self.away.get_mut(&key) {
            if away.overflow.is_some() || away.sent + bytes.len() > SEND_LIMIT {
                away.sends.clear();
                *away.overflow.get_or_insert(away.sent) += bytes.len();
                away.sent = 0;
            } else {
                away.sent += bytes.len();
                away.sends.push(Arc::clone(bytes));
            }
            return;
        }
        if let Some(Some(conn)) = self.selector.get_mut(key) {
            let buffers = &mut self.buffers;
            let next = guard("a delivery", || conn.deliver(buffers, bytes));
            self.then(key, next);
        }
    }

    /// Ends a connection that left the selector: here, or where its turns
    /// run (its `finish` is the handler's code).
    fn end(&self, conn: Box<dyn Drive>) {
        match &self.offload {
            Some(offload) => {
                let inbox = Arc::clone(&self.inbox);
                offload.offload(Box::new(move || {
                    // `end` reports what `finish` does; a panic of this
                    // crate's own must not keep the loop from stopping.
                    let _ = catch_panic(AssertUnwindSafe(|| conn.end()));
                    inbox.ended_elsewhere();
                }));
            }
            None => {
                conn.end();
                self.inbox.ended();
            }
        }
    }

    fn then(&mut self, key: Key, next: Next) {
        match next {
            Next::Wait => {}
            Next::Again => self.again.push(key),
            Next::Close => self.close(key),
        }
    }

    fn close(&mut self, key: Key) {
        if let Some(away) = self.away.get_mut(&key) {
            away.close = true;
            return;
        }
        let Some(Some(conn)) = self.selector.get(key) else {
            return;
        };
        let fd = conn.fd();
        if let Some(Some(conn)) = self.selector.unregister(&mut SourceFd(&fd), key) {
            self.end(conn);
        }
    }

    fn close_all(&mut self) {
        let keys: Vec<Key> = self.selector.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.close(key);
        }
        // Whatever is still in the inbox ends unserved; what comes after
        // is ended by its sender.
        let queue = self.inbox.lock();
        self.inbox.closed.store(true, Ordering::Release);
        drop(queue);
        self.read_inbox();
    }

    fn read_inbox(&mut self) {
        mem::swap(&mut *self.inbox.lock(), &mut self.messages);
        let mut messages = mem::take(&mut self.messages);
        for message in messages.drain(..) {
            match message {
                Message::Open(opening) => self.open(opening),
                Message::Run(job) => {
                    // A panic in the handler is caught and reported inside.
                    job();
                    self.inbox.served();
                }
                Message::Send(key, bytes) => self.send(key, &bytes),
                Message::Close(key) => self.close(key),
                Message::Stop(deadline) => self.stop(deadline),
                Message::Opened(conn) => self.watch(conn),
                Message::Back(key, conn, next) => self.back(key, conn, next),
            }
        }
        self.messages = messages;
    }

    fn open(&mut self, opening: Box<dyn Open>) {
        if self.stopping.is_some() {
            // Dropped: closed unserved, as the server closes.
            drop(opening);
            self.inbox.ended();
            return;
        }
        if let Some(offload) = &self.offload {
            let inbox = Arc::clone(&self.inbox);
            offload.offload(Box::new(move || {
                match catch_panic(AssertUnwindSafe(|| opening.open(Instant::now()))) {
                    Ok(Some(conn)) => inbox.hand_back(Message::Opened(conn)),
                    _ => inbox.ended_elsewhere(),
                }
            }));
            return;
        }
        let now = self.buffers.now;
        let Ok(Some(conn)) = catch_panic(AssertUnwindSafe(|| opening.open(now))) else {
            self.inbox.ended();
            return;
        };
        self.watch(conn);
    }

    /// Registers an opened connection and starts serving it.
    fn watch(&mut self, conn: Box<dyn Drive>) {
        if self.stopping.is_some() {
            // Opened elsewhere while the server began to close.
            self.end(conn);
            return;
        }
        if self.timeout.is_none()
            && let Some(timeout) = conn.timeout()
        {
            self.timeout = Some(timeout);
            self.next_sweep = Some(self.buffers.now + sweep_every(timeout));
        }
        let fd = conn.fd();
        // Both, once: edge-triggered, a socket that stays writable costs no
        // event, and a write that could not finish needs no system call to
        // ask for writability.
        let interest = Interest::READABLE | Interest::WRITABLE;
        match self
            .selector
            .register(&mut SourceFd(&fd), interest, Some(conn))
        {
            Ok(key) => {
                let remote = Arc::new(Remote {
                    inbox: Arc::clone(&self.inbox),
                    key,
                });
                if let Some(Some(conn)) = self.selector.get_mut(key) {
                    conn.attach(remote);
                }
            }
            Err(e) => {
                emit!(
                    log::Level::Error,
                    "cannot watch a new connection ({e}); closing it"
                );
                // `register` gives the data back only through the error; the
                // connection was dropped with it, which closed it.
                self.inbox.ended();
            }
        }
    }

    fn stop(&mut self, deadline: Option<Instant>) {
        self.stopping = Some(deadline);
        let mut done = Vec::new();
        for (key, conn) in self.selector.iter_mut() {
            if let Some(conn) = conn
                && conn.stop() == Next::Close
            {
                done.push(key);
            }
        }
        for key in done {
            self.close(key);
        }
    }

    /// Closes the connections whose clients sent nothing for the timeout.
    fn sweep(&mut self) {
        let (Some(timeout), Some(at)) = (self.timeout, self.next_sweep) else {
            return;
        };
        let now = self.buffers.now;
        if now < at {
            return;
        }
        self.next_sweep = Some(now + sweep_every(timeout));
        let mut idle = Vec::new();
        for (key, conn) in self.selector.iter_mut() {
            if let Some(conn) = conn
                && now.saturating_duration_since(conn.last_active()) >= timeout
            {
                conn.time_out(timeout);
                idle.push(key);
            }
        }
        for key in idle {
            self.close(key);
        }
    }
}

/// Runs one step of the engine's own code on a connection: a panic there (a
/// bug of this crate's, as handlers' panics are caught where they are
/// called) closes that connection, not the loop with all of its others.
///
/// Plain `catch_unwind`, not [`catch_panic`]: this runs on every turn, and
/// such a panic is reported by the panic hook, where it happened.
fn guard(what: &str, step: impl FnOnce() -> Next) -> Next {
    std::panic::catch_unwind(AssertUnwindSafe(step)).unwrap_or_else(|_| {
        emit!(log::Level::Error, "{what} panicked; closing the connection");
        Next::Close
    })
}

fn sweep_every(timeout: Duration) -> Duration {
    (timeout / SWEEP_SHARE).clamp(SWEEP_AT_LEAST, SWEEP_AT_MOST)
}
