//! What went wrong while serving one request, as reported to
//! [`Service::handle_error`](crate::Service::handle_error).

use crate::report::{Panic, emit, panic_message};
use std::any::Any;
use std::backtrace::Backtrace;
use std::error::Error;
use std::fmt;
use std::io;

/// The step of serving a request during which an error happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Handing the request to the concurrency model (e.g. a thread could not be spawned).
    Dispatch,
    /// The service's `verify_request` hook (only a panic can fail it).
    Verify,
    /// Preparing the request (e.g. applying the per-connection timeout).
    Open,
    /// The service's `setup` hook.
    Setup,
    /// The service's `handle` method.
    Handle,
    /// The service's `finish` hook.
    Finish,
    /// Sending what was left buffered and closing the connection.
    Close,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Dispatch => "dispatch",
            Stage::Verify => "verify_request",
            Stage::Open => "open",
            Stage::Setup => "setup",
            Stage::Handle => "handle",
            Stage::Finish => "finish",
            Stage::Close => "close",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error returned by, or a panic in, one step of serving a request.
///
/// The server passes it to [`Service::handle_error`](crate::Service::handle_error)
/// and goes on serving.
#[derive(Debug)]
pub struct RequestError {
    stage: Stage,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    Io(io::Error),
    Panic(Panic),
}

impl RequestError {
    /// An error returned during `stage`.
    pub fn io(stage: Stage, error: io::Error) -> RequestError {
        RequestError {
            stage,
            cause: Cause::Io(error),
        }
    }

    /// A panic during `stage`, from the payload `catch_unwind` returned.
    pub fn panic(stage: Stage, payload: Box<dyn Any + Send>) -> RequestError {
        RequestError::caught(
            stage,
            Panic {
                message: panic_message(&*payload),
                location: None,
                backtrace: None,
            },
        )
    }

    /// A panic the server caught, with where it happened.
    pub(crate) fn caught(stage: Stage, panic: Panic) -> RequestError {
        RequestError {
            stage,
            cause: Cause::Panic(panic),
        }
    }

    /// The step that failed.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The I/O error, when the step returned one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.cause {
            Cause::Io(e) => Some(e),
            Cause::Panic(_) => None,
        }
    }

    /// The panic's message, when the step panicked.
    pub fn panic_message(&self) -> Option<&str> {
        self.as_panic().map(|p| p.message.as_str())
    }

    /// Where the step panicked (`file:line:column`), when it did and the
    /// server caught it.
    pub fn panic_location(&self) -> Option<&str> {
        self.as_panic().and_then(|p| p.location.as_deref())
    }

    /// The stack of the panic, when the step panicked and backtraces are on
    /// (`RUST_BACKTRACE=1`, as for the standard panic message).
    pub fn backtrace(&self) -> Option<&Backtrace> {
        self.as_panic().and_then(|p| p.backtrace.as_ref())
    }

    fn as_panic(&self) -> Option<&Panic> {
        match &self.cause {
            Cause::Io(_) => None,
            Cause::Panic(p) => Some(p),
        }
    }

    /// Whether the step panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.cause, Cause::Panic(_))
    }

    /// Whether this is the ordinary end of a client that went away or went quiet
    /// (reset, broken pipe, timeout) rather than a fault of the server.
    pub fn is_disconnect(&self) -> bool {
        self.io_error().is_some_and(|e| {
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::TimedOut
                    // A read or write timeout on a blocking socket, on Unix.
                    | io::ErrorKind::WouldBlock
            )
        })
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Io(e) => write!(f, "`{}` failed: {e}", self.stage),
            Cause::Panic(p) => write!(f, "`{}` {p}", self.stage),
        }
    }
}

impl Error for RequestError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.io_error().map(|e| e as _)
    }
}

/// The default of [`Service::handle_error`](crate::Service::handle_error): reports
/// the client address and the error (with the panic's backtrace, when
/// `RUST_BACKTRACE` asks for one).
///
/// A client that went away or went quiet ([`RequestError::is_disconnect`]: a
/// reset, a broken pipe, a timeout) is routine: `debug` level. Anything else is
/// an `error`. Records go through the [`log`] crate; a program that installed
/// no logger sees errors on standard error instead, so that none is ever
/// silent. To see the `debug` records too, install a logger, e.g.
/// `env_logger::init()` and run with `RUST_LOG=socketserver=debug`.
pub fn log_request_error<A: fmt::Debug + ?Sized>(client_address: &A, error: &RequestError) {
    let level = if error.is_disconnect() {
        log::Level::Debug
    } else {
        log::Level::Error
    };
    match error.backtrace() {
        Some(backtrace) => emit!(
            level,
            "error serving {client_address:?}: {error}\nstack backtrace:\n{backtrace}"
        ),
        None => emit!(level, "error serving {client_address:?}: {error}"),
    }
}
