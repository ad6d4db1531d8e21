//! [`Service`]: the handler of a server and its hooks, Python's
//! `BaseRequestHandler` plus the override points of `BaseServer`.

use crate::error::{RequestError, log_request_error};
use crate::request::Request;
use std::fmt;
use std::io;
use std::marker::PhantomData;

/// The address type of the clients of service `S`.
pub type ClientAddr<S> = <<S as Service>::Request as Request>::Addr;

/// What a server does with each request, and its hooks.
///
/// The implementing type is the server's shared state: every request of every
/// thread sees it through `&self`. Only [`handle`](Service::handle) is required;
/// each hook has Python's meaning and a default that does what Python's does.
/// The `#[server]` and `#[handle]` attributes implement this trait for you; a
/// closure becomes a service with [`handler_fn`].
///
/// ```no_run
/// use socketserver::{Service, StreamRequest, ThreadingTcpServer};
/// use std::io::{self, Read, Write};
/// use std::net::SocketAddr;
///
/// struct Echo;
///
/// impl Service for Echo {
///     type Request = StreamRequest;
///
///     fn handle(&self, req: &mut StreamRequest) -> io::Result<()> {
///         let mut buf = [0; 4096];
///         loop {
///             let n = req.rfile().read(&mut buf)?;
///             if n == 0 {
///                 return Ok(());
///             }
///             req.wfile().write_all(&buf[..n])?;
///         }
///     }
///
///     fn verify_request(&self, client: &SocketAddr) -> bool {
///         client.ip().is_loopback()
///     }
/// }
///
/// ThreadingTcpServer::bind("127.0.0.1:7000", Echo)?.serve_forever()
/// # ; Ok::<(), io::Error>(())
/// ```
pub trait Service: Send + Sync + 'static {
    /// The kind of request handled, e.g. [`StreamRequest`](crate::StreamRequest).
    type Request: Request;

    /// Serves one request. An error (or a panic) is passed to
    /// [`handle_error`](Service::handle_error) and the server goes on.
    fn handle(&self, request: &mut Self::Request) -> io::Result<()>;

    /// Runs before `handle`; if it fails, neither `handle` nor `finish` runs.
    fn setup(&self, request: &mut Self::Request) -> io::Result<()> {
        let _ = request;
        Ok(())
    }

    /// Runs after `handle`, whether it succeeded, failed or panicked, and before
    /// the buffered output is sent and the connection closed.
    fn finish(&self, request: &mut Self::Request) -> io::Result<()> {
        let _ = request;
        Ok(())
    }

    /// Decides whether to serve a newly accepted client. A refused connection is
    /// shut down and closed without `handle` being called. Called on the thread of
    /// the server loop, so keep it quick.
    fn verify_request(&self, client_address: &<Self::Request as Request>::Addr) -> bool {
        let _ = client_address;
        true
    }

    /// Called with every error returned by (and every panic in) the steps of
    /// serving a request. The default logs it with the client's address through
    /// the [`log`] crate, or on standard error in a program without a logger
    /// ([`log_request_error`](crate::log_request_error)).
    ///
    /// The panics passed here are not shown to the panic hook that was
    /// installed before the server caught its first one (the standard hook
    /// would print them a second time, without the client): forward them from
    /// here to a crash reporter, with [`RequestError::backtrace`].
    fn handle_error(
        &self,
        client_address: &<Self::Request as Request>::Addr,
        error: &RequestError,
    ) {
        log_request_error(client_address, error);
    }

    /// Called by [`Server::handle_request`](crate::Server::handle_request) when
    /// no request came within the server's `accept_timeout`.
    fn handle_timeout(&self) {}

    /// Called on every turn of [`Server::serve_forever`](crate::Server::serve_forever),
    /// at least once per `poll_interval`, on the thread of the loop.
    fn service_actions(&self) {}
}

/// Makes a service of a closure: `handler_fn(|req: &mut StreamRequest| { … })`.
///
/// The hooks keep their defaults; implement [`Service`] on a type of your own to
/// change them.
pub fn handler_fn<R, F>(handler: F) -> HandlerFn<R, F>
where
    R: Request,
    F: Fn(&mut R) -> io::Result<()> + Send + Sync + 'static,
{
    HandlerFn {
        handler,
        request: PhantomData,
    }
}

/// A closure as a [`Service`]; made by [`handler_fn`].
pub struct HandlerFn<R, F> {
    handler: F,
    request: PhantomData<fn(&mut R)>,
}

impl<R, F> Service for HandlerFn<R, F>
where
    R: Request,
    F: Fn(&mut R) -> io::Result<()> + Send + Sync + 'static,
{
    type Request = R;

    fn handle(&self, request: &mut R) -> io::Result<()> {
        (self.handler)(request)
    }
}

impl<R, F> fmt::Debug for HandlerFn<R, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandlerFn")
    }
}
