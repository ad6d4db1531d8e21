//! The TCP modes (echo, connect, idle) for one thread: its connections, one
//! `mio` poll, edge-triggered.
//!
//! System calls per echo round trip: one `write` (the request, at once, with
//! no wait for writability), one `read` (the reply, once the poll says it has
//! come) and a share of `epoll_wait`. A read that has all the reply's bytes is
//! not followed by one that would only say "would block": on Linux every
//! arrival of data on a socket is a new edge, so the next reply wakes the poll
//! even if the socket was not drained to `WouldBlock`, and stray bytes after a
//! reply are read as the start of the next one and fail its check. Likewise a
//! request is written right after `connect` (a socket still connecting says
//! "would block"; the poll then reports it writable once connected).
//!
//! In connect mode against an IPv4 loopback server, each connection is bound
//! to the next of [`SOURCES`] loopback source addresses before it connects.
//! The client closes first, so each connection leaves a `TIME_WAIT` on the
//! client for a minute; from one source address the 28,000 or so ephemeral
//! ports run out within seconds, and `connect` then spends its time searching
//! for a reusable port (`__inet_hash_connect` in a profile) at about 14,000
//! connections per second whatever the server. With many source addresses
//! the search finds a free port at once and the server is what is measured.

use super::{
    Measured, Mode, SETUP_WINDOW, Setup, Work, descriptors_message, fill, out_of_descriptors,
    report_failure, report_mismatch,
};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::mem;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

/// The largest read, for large messages.
const MAX_READ: usize = 64 * 1024;
/// Poll events taken at once.
const EVENTS: usize = 1024;
/// Loopback source addresses a connect-mode worker cycles through
/// (127.0.0.2 and on; the whole of 127.0.0.0/8 is loopback on Linux).
const SOURCES: u32 = 200;

/// A non-blocking connection to `addr` from `source` (port 0: any).
fn connect_from(source: SocketAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.bind(&source.into())?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// Runs one thread's share of a TCP mode.
pub(super) fn run(work: Work) -> Result<Measured, String> {
    let mut worker = match Worker::new(&work) {
        Ok(worker) => worker,
        Err(e) => {
            let message = format!("cannot create a poll: {e}");
            let _ = work.ready(Setup {
                fatal: Some(message.clone()),
                ..Setup::default()
            });
            return Err(message);
        }
    };
    let mut events = Events::with_capacity(EVENTS);
    let config = &work.config;
    let setup = match config.mode {
        Mode::Connect => Setup::default(),
        _ => worker.open_all(
            &mut events,
            config.connect_timeout,
            config.mode == Mode::Idle,
        ),
    };
    let fatal = setup.fatal.clone();
    let Some(start) = work.ready(setup) else {
        // The run is called off.
        return Ok(Measured::new());
    };
    if let Some(message) = fatal {
        return Err(message);
    }
    let warm_end = start + config.warmup;
    let end = warm_end + config.duration;
    match config.mode {
        Mode::Echo => worker.echo(&mut events, warm_end, end)?,
        Mode::Connect => worker.connect(&mut events, warm_end, end)?,
        _ => worker.idle(start + config.duration),
    }
    Ok(worker.measured)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// No socket (not opened yet, failed, or between connections).
    Closed,
    /// Writing the request (or connecting, then writing).
    Sending,
    /// Reading the reply.
    Receiving,
    /// Open, its first echo made, waiting for the start (or held, idle).
    Parked,
}

struct Conn {
    stream: Option<TcpStream>,
    state: State,
    /// Its number among all threads' connections.
    id: u64,
    /// The request's number on this connection.
    seq: u64,
    /// Request bytes written.
    sent: usize,
    /// Reply bytes read and checked.
    got: usize,
    /// When the request (connect mode: the connection) began.
    started: Instant,
    /// The request; the reply must equal it.
    request: Box<[u8]>,
}

impl Conn {
    /// Starts request `seq`, begun at `now`.
    fn begin(&mut self, seq: u64, now: Instant) {
        self.seq = seq;
        fill(&mut self.request, self.id, seq);
        self.sent = 0;
        self.got = 0;
        self.started = now;
        self.state = State::Sending;
    }

    fn close(&mut self) {
        self.stream = None;
        self.state = State::Closed;
    }

    /// Writes and reads what can be without waiting.
    fn drive(&mut self, scratch: &mut [u8]) -> Step {
        let Some(stream) = self.stream.as_mut() else {
            return Step::Wait;
        };
        loop {
            match self.state {
                State::Sending => match stream.write(&self.request[self.sent..]) {
                    Ok(0) => return Step::Failed(Failure::Io(ErrorKind::WriteZero.into())),
                    Ok(n) => {
                        self.sent += n;
                        if self.sent == self.request.len() {
                            // The reply cannot be there yet: wait for the poll.
                            self.state = State::Receiving;
                            return Step::Wait;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Step::Failed(Failure::Io(e)),
                },
                State::Receiving => {
                    let want = (self.request.len() - self.got).min(scratch.len());
                    match stream.read(&mut scratch[..want]) {
                        Ok(0) => return Step::Failed(Failure::Closed(self.got)),
                        Ok(n) => {
                            let expected = &self.request[self.got..self.got + n];
                            if let Some(at) =
                                scratch[..n].iter().zip(expected).position(|(a, b)| a != b)
                            {
                                return Step::Failed(Failure::Mismatch(self.got + at));
                            }
                            self.got += n;
                            if self.got == self.request.len() {
                                return Step::Done;
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Step::Failed(Failure::Io(e)),
                    }
                }
                State::Closed | State::Parked => return Step::Wait,
            }
        }
    }
}

enum Step {
    /// Nothing more to do until the poll says so.
    Wait,
    /// The whole reply has come and matched.
    Done,
    Failed(Failure),
}

enum Failure {
    Io(io::Error),
    /// End of stream after this many reply bytes.
    Closed(usize),
    /// The reply differs from the request at this byte.
    Mismatch(usize),
}

struct Worker {
    poll: Poll,
    addr: SocketAddr,
    conns: Vec<Conn>,
    scratch: Vec<u8>,
    measured: Measured,
    /// Connections in all threads (for messages).
    wanted: usize,
    /// The next source address, in connect mode against IPv4 loopback.
    source: Option<u32>,
}

impl Worker {
    fn new(work: &Work) -> io::Result<Worker> {
        let size = work.config.size;
        let now = Instant::now();
        let conns = (0..work.count)
            .map(|i| Conn {
                stream: None,
                state: State::Closed,
                id: work.first_id + i as u64,
                seq: 0,
                sent: 0,
                got: 0,
                started: now,
                request: vec![0; size].into_boxed_slice(),
            })
            .collect();
        Ok(Worker {
            poll: Poll::new()?,
            addr: work.config.addr,
            conns,
            scratch: vec![0; size.min(MAX_READ)],
            measured: Measured::new(),
            wanted: work.config.connections,
            source: match work.config.addr.ip() {
                IpAddr::V4(ip) if work.config.mode == Mode::Connect && ip.is_loopback() => {
                    Some(work.first_id as u32 % SOURCES)
                }
                _ => None,
            },
        })
    }

    /// Opens connection `k` (connecting in the background) and registers it.
    fn open(&mut self, k: usize) -> io::Result<()> {
        let mut stream = match &mut self.source {
            None => TcpStream::connect(self.addr)?,
            Some(next) => {
                let source = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + *next);
                *next = (*next + 1) % SOURCES;
                connect_from(SocketAddr::from((source, 0)), self.addr)?
            }
        };
        stream.set_nodelay(true)?;
        self.poll.registry().register(
            &mut stream,
            Token(k),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.conns[k].stream = Some(stream);
        Ok(())
    }

    /// What went wrong with connection `k`, in words; says it on standard
    /// error if it is the first failure (or mismatch) of the run.
    fn failure(&self, k: usize, failure: &Failure) -> String {
        let conn = &self.conns[k];
        let size = conn.request.len();
        match failure {
            Failure::Io(e) => {
                let message = format!("connection {}: {e}", conn.id);
                report_failure(format_args!("{message}"));
                message
            }
            Failure::Closed(got) => {
                let message = format!(
                    "connection {}: closed by the server after {got} of {size} reply bytes",
                    conn.id
                );
                report_failure(format_args!("{message}"));
                message
            }
            Failure::Mismatch(at) => {
                let message = format!(
                    "connection {}, request {}: the reply differs from the request at byte {at} of {size}",
                    conn.id, conn.seq
                );
                report_mismatch(format_args!("{message}"));
                message
            }
        }
    }

    /// Opens every connection, each with one echo round trip, at most
    /// [`SETUP_WINDOW`] in progress at once, within `timeout`; leaves them
    /// parked. `idle`: the round trips are the measurement.
    fn open_all(&mut self, events: &mut Events, timeout: Duration, idle: bool) -> Setup {
        let mut setup = Setup::default();
        let deadline = Instant::now() + timeout;
        let (mut next, mut pending) = (0, 0);
        loop {
            while pending < SETUP_WINDOW && next < self.conns.len() {
                let k = next;
                next += 1;
                let started = Instant::now();
                match self.open(k) {
                    Ok(()) => {
                        pending += 1;
                        self.conns[k].begin(0, started);
                        self.setup_step(k, &mut setup, &mut pending, idle);
                    }
                    Err(e) if out_of_descriptors(&e) => {
                        setup.fatal = Some(descriptors_message(self.wanted, &e));
                        return setup;
                    }
                    Err(e) => {
                        setup.failed += 1;
                        setup.first_failure.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            let now = Instant::now();
            if (pending == 0 && next == self.conns.len()) || now >= deadline {
                break;
            }
            if let Err(message) = poll(&mut self.poll, events, deadline - now) {
                setup.fatal = Some(message);
                return setup;
            }
            for event in events.iter() {
                self.setup_step(event.token().0, &mut setup, &mut pending, idle);
            }
        }
        // Out of time: what is not open by now failed.
        let late = self.conns.len() - next + pending;
        if late > 0 {
            setup.failed += late as u64;
            setup
                .first_failure
                .get_or_insert_with(|| format!("{late} not open and served within {timeout:?}"));
            for conn in &mut self.conns {
                if conn.state != State::Parked {
                    conn.close();
                }
            }
        }
        setup
    }

    fn setup_step(&mut self, k: usize, setup: &mut Setup, pending: &mut usize, idle: bool) {
        if !matches!(self.conns[k].state, State::Sending | State::Receiving) {
            return;
        }
        match self.conns[k].drive(&mut self.scratch) {
            Step::Wait => {}
            Step::Done => {
                let conn = &mut self.conns[k];
                conn.state = State::Parked;
                *pending -= 1;
                setup.established += 1;
                if idle {
                    self.measured.latency.record(nanos(conn.started.elapsed()));
                    self.measured.requests += 1;
                }
            }
            Step::Failed(failure) => {
                let message = self.failure(k, &failure);
                self.conns[k].close();
                *pending -= 1;
                setup.failed += 1;
                setup.first_failure.get_or_insert(message);
            }
        }
    }

    /// Echo round trips on every open connection until `end`, counted from
    /// `warm_end` on.
    fn echo(&mut self, events: &mut Events, warm_end: Instant, end: Instant) -> Result<(), String> {
        for k in 0..self.conns.len() {
            if self.conns[k].state == State::Parked {
                self.conns[k].begin(1, Instant::now());
                self.echo_step(k, None);
            }
        }
        loop {
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            poll(&mut self.poll, events, end - now)?;
            // Every reply in this batch had come by now.
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            let counted = (now >= warm_end).then_some(now);
            for event in events.iter() {
                self.echo_step(event.token().0, counted);
            }
        }
    }

    /// Drives connection `k`; a complete reply is counted if `counted` (the
    /// time it was seen), and the next request is sent at once.
    fn echo_step(&mut self, k: usize, counted: Option<Instant>) {
        loop {
            match self.conns[k].drive(&mut self.scratch) {
                Step::Wait => return,
                Step::Done => {
                    let conn = &mut self.conns[k];
                    if let Some(now) = counted {
                        self.measured
                            .latency
                            .record(nanos(now.saturating_duration_since(conn.started)));
                        self.measured.requests += 1;
                    }
                    conn.begin(conn.seq + 1, Instant::now());
                }
                Step::Failed(failure) => {
                    self.failure(k, &failure);
                    self.measured.errors += 1;
                    self.conns[k].close();
                    return;
                }
            }
        }
    }

    /// Every connection a worker: connect, send, read the echo, close, again,
    /// until `end`; exchanges counted from `warm_end` on.
    fn connect(
        &mut self,
        events: &mut Events,
        warm_end: Instant,
        end: Instant,
    ) -> Result<(), String> {
        // Connections whose connect or exchange failed start again after the
        // next poll, not at once, so that a refusing server is not spun on.
        let mut retry = Vec::with_capacity(self.conns.len());
        let mut retrying = Vec::with_capacity(self.conns.len());
        for k in 0..self.conns.len() {
            self.restart(k, &mut retry)?;
        }
        loop {
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            let wait = if retry.is_empty() {
                end - now
            } else {
                (end - now).min(Duration::from_millis(1))
            };
            poll(&mut self.poll, events, wait)?;
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            let counted = (now >= warm_end).then_some(now);
            for event in events.iter() {
                let k = event.token().0;
                match self.conns[k].drive(&mut self.scratch) {
                    Step::Wait => {}
                    Step::Done => {
                        let conn = &mut self.conns[k];
                        if let Some(now) = counted {
                            self.measured
                                .latency
                                .record(nanos(now.saturating_duration_since(conn.started)));
                            self.measured.requests += 1;
                        }
                        conn.close();
                        self.restart(k, &mut retry)?;
                    }
                    Step::Failed(failure) => {
                        self.failure(k, &failure);
                        self.measured.errors += 1;
                        self.conns[k].close();
                        retry.push(k);
                    }
                }
            }
            mem::swap(&mut retry, &mut retrying);
            for k in retrying.drain(..) {
                self.restart(k, &mut retry)?;
            }
        }
    }

    /// Connects `k` anew and writes its next request (connect mode).
    fn restart(&mut self, k: usize, retry: &mut Vec<usize>) -> Result<(), String> {
        let started = Instant::now();
        match self.open(k) {
            Ok(()) => {
                let conn = &mut self.conns[k];
                conn.begin(conn.seq + 1, started);
                if let Step::Failed(failure) = conn.drive(&mut self.scratch) {
                    self.failure(k, &failure);
                    self.measured.errors += 1;
                    self.conns[k].close();
                    retry.push(k);
                }
                Ok(())
            }
            Err(e) if out_of_descriptors(&e) => Err(descriptors_message(self.wanted, &e)),
            Err(e) => {
                report_failure(format_args!("connect to {}: {e}", self.addr));
                self.measured.errors += 1;
                retry.push(k);
                Ok(())
            }
        }
    }

    /// Holds the open connections until `end`, then counts those the server
    /// has not closed.
    fn idle(&mut self, end: Instant) {
        let now = Instant::now();
        if end > now {
            thread::sleep(end - now);
        }
        for conn in &mut self.conns {
            let Some(stream) = conn.stream.as_mut() else {
                continue;
            };
            match stream.read(&mut self.scratch) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.measured.open += 1,
                Ok(0) | Err(_) => {}
                Ok(_) => {
                    // Open, but the server said something unasked.
                    self.measured.open += 1;
                    self.measured.errors += 1;
                    report_failure(format_args!(
                        "connection {}: unexpected bytes while idle",
                        conn.id
                    ));
                }
            }
        }
    }
}

/// Waits for events, at most `timeout` (an interrupted wait is no error).
fn poll(poll: &mut Poll, events: &mut Events, timeout: Duration) -> Result<(), String> {
    match poll.poll(events, Some(timeout)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::Interrupted => {
            events.clear();
            Ok(())
        }
        Err(e) => Err(format!("poll: {e}")),
    }
}

pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
