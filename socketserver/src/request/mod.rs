//! What a handler receives: one request, with its connection (or packet) and
//! the client's address.

mod buffer;
mod datagram;
mod stream;

pub(crate) use buffer::Filled;
pub use buffer::{Conn, ConnId, ConnState, Input, Output, Switchboard};
pub use datagram::{Datagram, DatagramRequest, DatagramSocket};
pub use stream::{RFile, Stream, StreamRequest, WFile};

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A kind of request a [`Service`](crate::Service) handles, such as
/// [`StreamRequest`]. Implemented by this crate's request types only.
pub trait Request: sealed::Sealed + Sized + Send + 'static {
    /// What the transport yields for one request: an accepted connection.
    type Conn: Send + 'static;
    /// The client's address.
    type Addr: Clone + fmt::Debug + Send + Sync + 'static;

    /// The client's address (Python's `client_address`).
    fn client_address(&self) -> &Self::Addr;

    #[doc(hidden)]
    fn open(conn: Self::Conn, client: Self::Addr, config: &RequestConfig) -> io::Result<Self>;

    /// What can end the request from another thread, when a stopping server
    /// gives up waiting for it; `None` when nothing needs to (the handler
    /// never waits on the client).
    #[doc(hidden)]
    fn closer(&self) -> Option<Arc<dyn Close>>;

    /// Whether the handler is called in turns, as input comes (the buffer
    /// shape: [`Conn`]), rather than once.
    #[doc(hidden)]
    const TURNS: bool = false;

    /// For a request whose handler is called in turns: sends what the
    /// handler queued, then waits for more input; whether to call the handler
    /// (again). Not called for other requests.
    #[doc(hidden)]
    fn next_turn(&mut self) -> io::Result<bool> {
        Ok(false)
    }

    /// Tells the request its name among the server's open connections, and
    /// how to reach the others (for a handler that sends to them).
    #[doc(hidden)]
    fn join(&mut self, id: ConnId, peers: Arc<dyn Switchboard>) {
        let _ = (id, peers);
    }

    /// Sends what is left and releases the connection.
    #[doc(hidden)]
    fn close(self) -> io::Result<()>;

    /// Lets go of a request that will not be served (refused by
    /// `verify_request`): a connection is shut down, so that the client sees
    /// it end at once; a datagram is dropped.
    #[doc(hidden)]
    fn refuse(conn: Self::Conn);
}

/// Ends a request from outside its handler: its reads see end of input, its
/// writes fail, so the handler returns.
#[doc(hidden)]
pub trait Close: Send + Sync {
    fn force_close(&self);

    /// Queues `bytes` to the connection, for another connection's handler
    /// ([`Conn::send_to`]).
    fn send(&self, bytes: &Arc<[u8]>) -> io::Result<()> {
        let _ = bytes;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this connection cannot be sent to: it is served in a process of its own (`forking`)",
        ))
    }
}

/// The per-request settings a server applies to each request it opens.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct RequestConfig {
    /// Read and write timeout of each connection.
    pub timeout: Option<Duration>,
}
