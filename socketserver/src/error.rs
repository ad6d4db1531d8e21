//! What went wrong while serving one request, as reported to
//! [`Service::handle_error`](crate::Service::handle_error).

use std::any::Any;
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
    Panic(String),
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
        RequestError {
            stage,
            cause: Cause::Panic(panic_message(&*payload)),
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
        match &self.cause {
            Cause::Io(_) => None,
            Cause::Panic(m) => Some(m),
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
            Cause::Panic(m) => write!(f, "`{}` panicked: {m}", self.stage),
        }
    }
}

impl Error for RequestError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.io_error().map(|e| e as _)
    }
}

/// The default of [`Service::handle_error`](crate::Service::handle_error): logs the
/// client address and the error through the [`log`] crate, at `warn` level for a
/// client that went away or timed out and at `error` level for anything else.
pub fn log_request_error<A: fmt::Debug + ?Sized>(client_address: &A, error: &RequestError) {
    let level = if error.is_disconnect() {
        log::Level::Warn
    } else {
        log::Level::Error
    };
    log::log!(level, "error serving {client_address:?}: {error}");
}

/// The message of a panic, from the payload `catch_unwind` returned.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic payload that is not a string".to_owned()
    }
}
