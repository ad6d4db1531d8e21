//! [`StreamRequest`]: a connection with a buffered reader and writer, Python's
//! `StreamRequestHandler`.

use super::{Close, Request, RequestConfig, sealed};
use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Size of the read and of the write buffer of a request.
const BUFFER_SIZE: usize = 8 * 1024;

/// A connected, blocking byte stream a [`StreamRequest`] is made of:
/// [`TcpStream`] (and the Unix stream socket, with the Unix transport).
pub trait Stream: sealed::Sealed + fmt::Debug + Send + Sync + 'static {
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
}

impl<S: Stream> Close for S {
    fn force_close(&self) {
        // Already closed by the peer is fine: all we want is the handler unblocked.
        let _ = self.shutdown(Shutdown::Both);
    }
}

/// One connection of a stream server (TCP, or Unix stream sockets), handed to the
/// handler: Python's `StreamRequestHandler`.
///
/// [`rfile`](StreamRequest::rfile) reads through a buffer (it implements
/// [`BufRead`], so `read_line` and `read_until` work); [`wfile`](StreamRequest::wfile)
/// writes through one. Both borrow the request, so take one at a time, as in
/// the loop below (not `for line in req.rfile().lines()` with writes inside). What is written is sent, in as few system calls as it fits
/// in, **before `rfile` waits for more input** and when the handler returns, so
/// request–reply protocols need no explicit `flush`, and a reply made of many
/// small writes still leaves in one `write`. Call `wfile().flush()` to send at
/// once anyway (for instance before a long computation).
///
/// ```no_run
/// use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
/// use std::io::{self, BufRead, Write};
///
/// let upper = handler_fn(|req: &mut StreamRequest| {
///     let mut line = String::new();
///     while req.rfile().read_line(&mut line)? > 0 {
///         req.wfile().write_all(line.to_uppercase().as_bytes())?;
///         line.clear();
///     }
///     Ok(())
/// });
/// ThreadingTcpServer::bind("127.0.0.1:9999", upper)?.serve_forever()
/// # ; Ok::<(), io::Error>(())
/// ```
pub struct StreamRequest<S: Stream = TcpStream> {
    stream: Arc<S>,
    client: S::Addr,
    /// The read and write timeout in force, to say so when it expires.
    timeout: Option<Duration>,
    rbuf: Box<[u8]>,
    rpos: usize,
    rend: usize,
    wbuf: Vec<u8>,
}

impl<S: Stream> sealed::Sealed for StreamRequest<S> {}

impl<S: Stream> Request for StreamRequest<S> {
    type Conn = S;
    type Addr = S::Addr;

    fn client_address(&self) -> &S::Addr {
        &self.client
    }

    fn open(conn: S, client: S::Addr, config: &RequestConfig) -> io::Result<Self> {
        if let Some(timeout) = config.timeout {
            conn.set_read_timeout(Some(timeout))?;
            conn.set_write_timeout(Some(timeout))?;
        }
        Ok(StreamRequest {
            stream: Arc::new(conn),
            client,
            timeout: config.timeout,
            rbuf: Box::default(),
            rpos: 0,
            rend: 0,
            wbuf: Vec::new(),
        })
    }

    fn closer(&self) -> Arc<dyn Close> {
        self.stream.clone()
    }

    fn close(mut self) -> io::Result<()> {
        self.flush_writes()?;
        // Send our FIN now, even if another copy of the socket stays open
        // (a forked child's, or the server's registry's until it lets go).
        let _ = self.stream.shutdown(Shutdown::Write);
        Ok(())
    }
}

impl<S: Stream> StreamRequest<S> {
    /// The buffered reader of the connection (Python's `rfile`).
    pub fn rfile(&mut self) -> RFile<'_, S> {
        RFile { req: self }
    }

    /// The buffered writer of the connection (Python's `wfile`); see the type's
    /// documentation for when what it holds is sent.
    pub fn wfile(&mut self) -> WFile<'_, S> {
        WFile { req: self }
    }

    /// The connection itself, for what the buffered reader and writer do not
    /// offer (socket options, `peer_addr`, …).
    ///
    /// Reading or writing here bypasses the buffers: bytes `rfile` has already
    /// read are not seen again, and bytes still in `wfile` would be sent after
    /// yours, so `wfile().flush()` first.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The client's address (Python's `client_address`).
    pub fn client_address(&self) -> &S::Addr {
        &self.client
    }

    /// Sets the read and write timeout of this connection (`None`: wait forever),
    /// overriding the server's `timeout`. A read or write through `rfile` or
    /// `wfile` that times out fails with [`io::ErrorKind::TimedOut`].
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)?;
        self.stream.set_write_timeout(timeout)?;
        self.timeout = timeout;
        Ok(())
    }

    /// Reads from the socket; a timeout is reported as such, not as the
    /// `WouldBlock` (EAGAIN) a blocking socket returns for it.
    fn read_socket(&self, buf: &mut [u8]) -> io::Result<usize> {
        read_socket(&*self.stream, self.timeout, buf)
    }

    /// Writes to the socket, reporting a timeout as such.
    fn write_socket(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream
            .write(buf)
            .map_err(|e| timed_out(e, self.timeout, "the client took no output"))
    }

    fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..self.rend]
    }

    fn flush_writes(&mut self) -> io::Result<()> {
        let mut sent = 0;
        let result = loop {
            if sent == self.wbuf.len() {
                break Ok(());
            }
            match self.write_socket(&self.wbuf[sent..]) {
                Ok(0) => {
                    break Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the connection accepted no more bytes",
                    ));
                }
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.wbuf.drain(..sent);
        result
    }

    /// Reads more input into the (empty) read buffer, sending pending output first.
    fn fill(&mut self) -> io::Result<()> {
        self.flush_writes()?;
        if self.rbuf.is_empty() {
            self.rbuf = vec![0; BUFFER_SIZE].into_boxed_slice();
        }
        self.rpos = 0;
        self.rend = 0;
        self.rend = read_socket(&*self.stream, self.timeout, &mut self.rbuf)?;
        Ok(())
    }
}

impl<S: Stream> fmt::Debug for StreamRequest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRequest")
            .field("client_address", &self.client)
            .field("stream", &self.stream)
            .field("buffered_input", &self.buffered().len())
            .field("buffered_output", &self.wbuf.len())
            .finish()
    }
}

fn read_socket<S: Stream>(
    stream: &S,
    timeout: Option<Duration>,
    buf: &mut [u8],
) -> io::Result<usize> {
    stream
        .read(buf)
        .map_err(|e| timed_out(e, timeout, "no input"))
}

/// A read or write timeout of a blocking socket surfaces as `WouldBlock`
/// (EAGAIN); say what it is.
fn timed_out(error: io::Error, timeout: Option<Duration>, what: &str) -> io::Error {
    match timeout {
        Some(timeout) if error.kind() == io::ErrorKind::WouldBlock => io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what} for {timeout:?} (the connection's timeout)"),
        ),
        _ => error,
    }
}

/// The buffered reader of a [`StreamRequest`], from [`StreamRequest::rfile`].
pub struct RFile<'a, S: Stream> {
    req: &'a mut StreamRequest<S>,
}

impl<S: Stream> Read for RFile<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // A large read with nothing buffered goes straight to the socket.
        if self.req.buffered().is_empty() && buf.len() >= BUFFER_SIZE {
            self.req.flush_writes()?;
            return self.req.read_socket(buf);
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
        if self.req.buffered().is_empty() {
            self.req.fill()?;
        }
        Ok(self.req.buffered())
    }

    fn consume(&mut self, amount: usize) {
        self.req.rpos = (self.req.rpos + amount).min(self.req.rend);
    }
}

impl<S: Stream> fmt::Debug for RFile<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RFile").field(&self.req).finish()
    }
}

/// The buffered writer of a [`StreamRequest`], from [`StreamRequest::wfile`].
pub struct WFile<'a, S: Stream> {
    req: &'a mut StreamRequest<S>,
}

impl<S: Stream> Write for WFile<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let wbuf = &self.req.wbuf;
        if wbuf.len() + buf.len() > BUFFER_SIZE {
            self.req.flush_writes()?;
        }
        if buf.len() >= BUFFER_SIZE {
            return self.req.write_socket(buf);
        }
        if self.req.wbuf.capacity() == 0 {
            self.req.wbuf.reserve_exact(BUFFER_SIZE);
        }
        self.req.wbuf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.req.flush_writes()
    }
}

impl<S: Stream> fmt::Debug for WFile<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WFile").field(&self.req).finish()
    }
}
