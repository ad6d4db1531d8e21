//! The UDP mode for one thread: its sockets (each connected to the server,
//! one datagram in flight) and one `mio` poll, edge-triggered.
//!
//! A request without a reply within the timeout is counted as lost and the
//! socket sends its next one; a reply that comes after that is recognized
//! (it equals one of the socket's last requests) and dropped, not counted as
//! a mismatch. The sockets are registered for readability only: a UDP socket
//! says "writable" each time a sent datagram is freed, which would double the
//! events; writability is asked for only while a send would block.

use super::tcp::nanos;
use super::{
    Measured, Setup, Work, descriptors_message, fill, out_of_descriptors, report_failure,
    report_mismatch,
};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Poll events taken at once.
const EVENTS: usize = 1024;
/// How many of a socket's earlier requests a late reply is compared with.
const LATE_WINDOW: u64 = 16;
/// Datagrams read per event at most, so that one socket cannot hold the
/// thread.
const READS_PER_EVENT: usize = 64;

/// Runs one thread's share of the UDP mode.
pub(super) fn run(work: Work) -> Result<Measured, String> {
    let config = &work.config;
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
    let setup = worker.open_all(config.addr);
    let fatal = setup.fatal.clone();
    let Some(start) = work.ready(setup) else {
        return Ok(Measured::new());
    };
    if let Some(message) = fatal {
        return Err(message);
    }
    let warm_end = start + config.warmup;
    worker.run(warm_end, warm_end + config.duration, config.udp_timeout)?;
    Ok(worker.measured)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Could not be set up.
    Dead,
    /// The request could not be sent yet (the send would block).
    Blocked,
    /// The request is out; waiting for its reply.
    Waiting,
}

struct Peer {
    socket: Option<UdpSocket>,
    state: State,
    id: u64,
    seq: u64,
    sent_at: Instant,
    /// Registered for writability too (while blocked).
    writable_interest: bool,
    request: Box<[u8]>,
}

struct Worker {
    poll: Poll,
    peers: Vec<Peer>,
    /// One byte more than a request, so that a longer reply shows.
    scratch: Vec<u8>,
    /// For recognizing late replies.
    earlier: Vec<u8>,
    measured: Measured,
    /// Sockets in all threads (for messages).
    wanted: usize,
}

impl Worker {
    fn new(work: &Work) -> io::Result<Worker> {
        let size = work.config.size;
        let now = Instant::now();
        let peers = (0..work.count)
            .map(|i| Peer {
                socket: None,
                state: State::Dead,
                id: work.first_id + i as u64,
                seq: 0,
                sent_at: now,
                writable_interest: false,
                request: vec![0; size].into_boxed_slice(),
            })
            .collect();
        Ok(Worker {
            poll: Poll::new()?,
            peers,
            scratch: vec![0; size + 1],
            earlier: vec![0; size],
            measured: Measured::new(),
            wanted: work.config.connections,
        })
    }

    /// Binds a socket per peer, connected to `addr`.
    fn open_all(&mut self, addr: SocketAddr) -> Setup {
        let mut setup = Setup::default();
        let local = match addr {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0_u16; 8], 0)),
        };
        for k in 0..self.peers.len() {
            let opened = UdpSocket::bind(local).and_then(|mut socket| {
                socket.connect(addr)?;
                self.poll
                    .registry()
                    .register(&mut socket, Token(k), Interest::READABLE)?;
                Ok(socket)
            });
            match opened {
                Ok(socket) => {
                    self.peers[k].socket = Some(socket);
                    self.peers[k].state = State::Blocked;
                    setup.established += 1;
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
        setup
    }

    fn run(&mut self, warm_end: Instant, end: Instant, timeout: Duration) -> Result<(), String> {
        let mut events = Events::with_capacity(EVENTS);
        for k in 0..self.peers.len() {
            if self.peers[k].state != State::Dead {
                self.next_request(k);
            }
        }
        // Lost requests are found by a sweep over the sockets a few times
        // per timeout.
        let sweep_every = (timeout / 4).max(Duration::from_millis(1));
        let mut next_sweep = Instant::now() + sweep_every;
        loop {
            let mut now = Instant::now();
            if now >= end {
                return Ok(());
            }
            if now >= next_sweep {
                self.sweep(now, timeout, now >= warm_end);
                now = Instant::now();
                next_sweep = now + sweep_every;
            }
            match self.poll.poll(&mut events, Some(end.min(next_sweep) - now)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("poll: {e}")),
            }
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            let counted = (now >= warm_end).then_some(now);
            for event in events.iter() {
                self.step(event.token().0, counted);
            }
        }
    }

    /// Gives up on the requests older than `timeout` (counting them lost if
    /// `counting`) and sends the next ones.
    fn sweep(&mut self, now: Instant, timeout: Duration, counting: bool) {
        for k in 0..self.peers.len() {
            let peer = &self.peers[k];
            if peer.state == State::Waiting
                && now.saturating_duration_since(peer.sent_at) >= timeout
            {
                if counting {
                    self.measured.lost += 1;
                }
                self.next_request(k);
            }
        }
    }

    /// Fills and sends the next request of peer `k`.
    fn next_request(&mut self, k: usize) {
        let peer = &mut self.peers[k];
        peer.seq += 1;
        fill(&mut peer.request, peer.id, peer.seq);
        self.send(k);
    }

    fn send(&mut self, k: usize) {
        let peer = &mut self.peers[k];
        let Some(socket) = peer.socket.as_ref() else {
            return;
        };
        peer.sent_at = Instant::now();
        match socket.send(&peer.request) {
            Ok(_) => peer.state = State::Waiting,
            Err(e) if e.kind() == ErrorKind::WouldBlock => peer.state = State::Blocked,
            Err(e) => {
                // Not sent: it will time out and be counted lost as well.
                peer.state = State::Waiting;
                report_failure(format_args!("UDP socket {}: send: {e}", peer.id));
                self.measured.errors += 1;
            }
        }
        // Writability is wanted only while blocked.
        let blocked = peer.state == State::Blocked;
        if blocked != peer.writable_interest {
            peer.writable_interest = blocked;
            let interest = if blocked {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            self.reregister(k, interest);
        }
    }

    fn reregister(&mut self, k: usize, interest: Interest) {
        let Some(socket) = self.peers[k].socket.as_mut() else {
            return;
        };
        if let Err(e) = self.poll.registry().reregister(socket, Token(k), interest) {
            report_failure(format_args!(
                "UDP socket {}: reregister: {e}",
                self.peers[k].id
            ));
            self.measured.errors += 1;
        }
    }

    /// Sends a blocked request, reads what has come for peer `k`; a matching
    /// reply is counted if `counted` (the time it was seen), and the next
    /// request goes out at once.
    fn step(&mut self, k: usize, counted: Option<Instant>) {
        if self.peers[k].state == State::Blocked {
            self.send(k);
        }
        for _ in 0..READS_PER_EVENT {
            let peer = &self.peers[k];
            let Some(socket) = peer.socket.as_ref() else {
                return;
            };
            match socket.recv(&mut self.scratch) {
                Ok(n) => {
                    let reply = &self.scratch[..n];
                    if peer.state == State::Waiting && reply == &peer.request[..] {
                        if let Some(now) = counted {
                            self.measured
                                .latency
                                .record(nanos(now.saturating_duration_since(peer.sent_at)));
                            self.measured.requests += 1;
                        }
                        self.next_request(k);
                        return;
                    }
                    if !is_late(peer, reply, &mut self.earlier) {
                        report_mismatch(format_args!(
                            "UDP socket {}, request {}: a reply of {n} bytes differs from the request of {}",
                            peer.id,
                            peer.seq,
                            peer.request.len()
                        ));
                        self.measured.errors += 1;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    report_failure(format_args!("UDP socket {}: receive: {e}", peer.id));
                    self.measured.errors += 1;
                }
            }
        }
    }
}

/// Whether `reply` is the reply to one of `peer`'s recent earlier requests.
fn is_late(peer: &Peer, reply: &[u8], earlier: &mut [u8]) -> bool {
    reply.len() == earlier.len()
        && (1..=LATE_WINDOW.min(peer.seq.saturating_sub(1))).any(|back| {
            fill(earlier, peer.id, peer.seq - back);
            reply == &earlier[..]
        })
}
