//! [`DatagramRequest`]: one received datagram and the reply to it, Python's
//! `DatagramRequestHandler`.

use super::{Close, Request, RequestConfig, sealed};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::{self as unix, UnixDatagram};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A connectionless socket a [`DatagramRequest`] came from and replies through:
/// [`UdpSocket`], or [`UnixDatagram`] (with the [`UnixDgram`](crate::UnixDgram)
/// transport).
pub trait DatagramSocket: sealed::Sealed + AsFd + fmt::Debug + Send + Sync + 'static {
    /// The address type of the peers.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;

    /// Sends one datagram to `addr`.
    fn send_to(&self, buf: &[u8], addr: &Self::Addr) -> io::Result<usize>;

    /// Receives one datagram into `buf`: its length (the part that fits) and
    /// its sender.
    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Self::Addr)>;
}

impl sealed::Sealed for UdpSocket {}

impl DatagramSocket for UdpSocket {
    type Addr = SocketAddr;

    fn send_to(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        UdpSocket::send_to(self, buf, addr)
    }

    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        UdpSocket::recv_from(self, buf)
    }
}

impl sealed::Sealed for UnixDatagram {}

impl DatagramSocket for UnixDatagram {
    type Addr = unix::SocketAddr;

    /// Sends one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotConnected`] when `addr` is unnamed: a client whose
    /// socket is not bound to a path (or an abstract name) cannot be replied to.
    fn send_to(&self, buf: &[u8], addr: &unix::SocketAddr) -> io::Result<usize> {
        if addr.is_unnamed() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "cannot reply to a client whose socket has no address: bind the client's \
                 socket to a path to get replies",
            ));
        }
        self.send_to_addr(buf, addr)
    }

    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, unix::SocketAddr)> {
        UnixDatagram::recv_from(self, buf)
    }
}

/// A datagram as a datagram transport receives it: what a [`DatagramRequest`]
/// is made of.
#[doc(hidden)]
#[derive(Debug)]
pub struct Datagram<D> {
    /// The bytes received, at most the server's `max_packet_size`.
    pub packet: Vec<u8>,
    /// Whether the datagram was longer than `packet`.
    pub truncated: bool,
    /// The server's socket, to reply through.
    pub socket: Arc<D>,
}

/// One datagram received by a datagram server (UDP, or Unix datagram
/// sockets), handed to the handler: Python's `DatagramRequestHandler`.
///
/// [`packet`](DatagramRequest::packet) is what the client sent (also readable
/// as a [`BufRead`](std::io::BufRead) through [`rfile`](DatagramRequest::rfile));
/// what is written to [`wfile`](DatagramRequest::wfile) is sent back to the
/// client as **one** datagram when the handler returns (nothing is sent if
/// nothing was written).
///
/// ```no_run
/// use socketserver::{DatagramRequest, ThreadingUdpServer, handler_fn};
/// use std::io::{self, Write};
///
/// let upper = handler_fn(|req: &mut DatagramRequest| {
///     let reply = req.packet().to_ascii_uppercase();
///     req.wfile().write_all(&reply)
/// });
/// ThreadingUdpServer::bind("127.0.0.1:9999", upper)?.serve_forever()
/// # ; Ok::<(), io::Error>(())
/// ```
///
/// A datagram longer than the server's `max_packet_size` is not silently cut:
/// the handler gets its first `max_packet_size` bytes, and
/// [`is_truncated`](DatagramRequest::is_truncated) says so (it is logged too).
pub struct DatagramRequest<D: DatagramSocket = UdpSocket> {
    packet: Vec<u8>,
    truncated: bool,
    client: D::Addr,
    socket: Arc<D>,
    reply: Vec<u8>,
    /// How long a reply waits for room in the socket's send buffer.
    send_wait: Duration,
}

impl<D: DatagramSocket> sealed::Sealed for DatagramRequest<D> {}

impl<D: DatagramSocket> Request for DatagramRequest<D> {
    type Conn = Datagram<D>;
    type Addr = D::Addr;

    fn client_address(&self) -> &D::Addr {
        &self.client
    }

    fn open(datagram: Datagram<D>, client: D::Addr, config: &RequestConfig) -> io::Result<Self> {
        Ok(DatagramRequest {
            packet: datagram.packet,
            truncated: datagram.truncated,
            client,
            socket: datagram.socket,
            reply: Vec::new(),
            // Without a `timeout`, a reply that finds no room is dropped at
            // once, as the network would drop it: a client that reads no
            // replies (its queue full) must not hold the server.
            send_wait: config.timeout.unwrap_or(Duration::ZERO),
        })
    }

    fn closer(&self) -> Option<Arc<dyn Close>> {
        // Nothing to shut down: the handler does not wait on the client.
        None
    }

    fn refuse(_: Datagram<D>) {
        // Nothing to tell the client: the datagram is dropped.
    }

    fn close(self) -> io::Result<()> {
        if self.reply.is_empty() {
            return Ok(());
        }
        let sent = send_waiting(&*self.socket, &self.reply, &self.client, self.send_wait)?;
        if sent < self.reply.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!(
                    "only {sent} of the reply's {} bytes were sent",
                    self.reply.len()
                ),
            ));
        }
        Ok(())
    }
}

impl<D: DatagramSocket> DatagramRequest<D> {
    /// The datagram's bytes (its first `max_packet_size` bytes if it was
    /// longer: see [`is_truncated`](DatagramRequest::is_truncated)).
    pub fn packet(&self) -> &[u8] {
        &self.packet
    }

    /// The datagram as a reader (Python's `rfile`): `read_line`, `read_exact`
    /// and the rest of [`Read`](std::io::Read) and [`BufRead`](std::io::BufRead)
    /// work on it.
    pub fn rfile(&self) -> &[u8] {
        &self.packet
    }

    /// Whether the datagram was longer than the server's `max_packet_size`,
    /// and so was cut to it.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The reply (Python's `wfile`): sent to the client as one datagram when
    /// the handler returns, if anything was written.
    pub fn wfile(&mut self) -> &mut Vec<u8> {
        &mut self.reply
    }

    /// The client's address (Python's `client_address`).
    pub fn client_address(&self) -> &D::Addr {
        &self.client
    }

    /// The server's socket, e.g. to send more than one datagram back (with
    /// `send_to`; it is non-blocking, since the server loop reads from it).
    pub fn socket(&self) -> &D {
        &self.socket
    }
}

impl<D: DatagramSocket> fmt::Debug for DatagramRequest<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramRequest")
            .field("client_address", &self.client)
            .field("packet", &self.packet.len())
            .field("truncated", &self.truncated)
            .field("reply", &self.reply.len())
            .finish()
    }
}

/// Sends `buf` to `addr` on the non-blocking `socket`, waiting up to `wait` in
/// all for room in its send buffer (or the receiver's queue) when it is full.
fn send_waiting<D: DatagramSocket>(
    socket: &D,
    buf: &[u8],
    addr: &D::Addr,
    wait: Duration,
) -> io::Result<usize> {
    let deadline = Instant::now().checked_add(wait);
    let mut pause = None;
    loop {
        match socket.send_to(buf, addr) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let left = deadline.map_or(wait, |d| d.saturating_duration_since(Instant::now()));
                if left.is_zero() || !wait_writable(socket, left)? {
                    let waited = if wait.is_zero() {
                        " (the server's `timeout` sets how long to wait for room)".to_owned()
                    } else {
                        format!(" for {wait:?}")
                    };
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "no room to send the reply to {addr:?}{waited}: the client's queue                              or the socket's buffer is full; the reply is dropped"
                        ),
                    ));
                }
                // An unconnected Unix datagram socket polls writable while the
                // receiver's queue is full (only its own buffer counts): when
                // writable did not mean sendable, pause (1 ms, doubling to
                // 50 ms) instead of spinning.
                if let Some(pause) = pause {
                    thread::sleep(left.min(pause));
                }
                pause = Some(pause.map_or(Duration::from_millis(1), |p: Duration| {
                    (p * 2).min(Duration::from_millis(50))
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// Waits until `socket` can be written to, up to `wait`; false if it could not.
/// Only for the rare full send buffer, so a poller of its own is fine.
fn wait_writable(socket: &impl AsFd, wait: Duration) -> io::Result<bool> {
    let mut poll = Poll::new()?;
    let fd = socket.as_fd().as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), Token(0), Interest::WRITABLE)?;
    let mut events = Events::with_capacity(1);
    poll.poll(&mut events, Some(wait))?;
    Ok(!events.is_empty())
}
