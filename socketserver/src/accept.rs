//! What the accept loop does with each error `accept` can return: skip it, or
//! back off and try again. Serving never stops over an accept error.

use std::io;
use std::time::{Duration, Instant};

/// The first pause after a failed accept; each further failure doubles it.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between attempts while accepting keeps failing.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// What to do after an accept error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// The error belongs to one connection, which is gone: accept the next at once.
    Skip,
    /// The process or system is short of a resource (descriptors, buffers,
    /// memory), or something unexpected happened: pause, then try again. Under
    /// edge-triggered readiness no new event would come for the connections
    /// already waiting, so the loop re-arms the accept itself when the pause ends.
    Pause,
}

pub(crate) fn recovery(error: &io::Error) -> Recovery {
    if let Some(errno) = error.raw_os_error() {
        return match errno {
            // Interrupted, or the connection was aborted or reset before we
            // took it; on Linux, accept(2) also reports a pending network error
            // of the new connection ("treat them like EAGAIN by retrying").
            libc::EINTR
            | libc::ECONNABORTED
            | libc::ECONNRESET
            | libc::EPROTO
            | libc::EPERM
            | libc::ENETDOWN
            | libc::ENOPROTOOPT
            | libc::EHOSTDOWN
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH => Recovery::Skip,
            #[cfg(target_os = "linux")]
            libc::ENONET => Recovery::Skip,
            // EMFILE, ENFILE, ENOBUFS, ENOMEM, and errors that will not go away
            // by retrying at once (EOPNOTSUPP, EINVAL from a socket that is not
            // listening): pause rather than spin.
            _ => Recovery::Pause,
        };
    }
    // Errors made by the transport while preparing one new connection carry
    // the kind of a lost connection.
    match error.kind() {
        io::ErrorKind::Interrupted
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset => Recovery::Skip,
        _ => Recovery::Pause,
    }
}

/// The pause between accept attempts while they keep failing.
#[derive(Debug)]
pub(crate) struct Backoff {
    next_pause: Duration,
    until: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            next_pause: FIRST_PAUSE,
            until: None,
        }
    }
}

impl Backoff {
    /// Starts a pause after a failure and returns its length.
    pub(crate) fn pause(&mut self) -> Duration {
        let pause = self.next_pause;
        self.until = Some(Instant::now() + pause);
        self.next_pause = (pause * 2).min(LONGEST_PAUSE);
        pause
    }

    /// Forgets past failures after an accept that worked.
    pub(crate) fn reset(&mut self) {
        if self.until.is_some() {
            *self = Backoff::default();
        }
    }

    /// What is left of the current pause, if one is going on.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let left = self.until?.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_errors_are_skipped_and_exhaustion_pauses() {
        for errno in [libc::ECONNABORTED, libc::EINTR, libc::EPROTO] {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(recovery(&e), Recovery::Skip, "{e}");
        }
        for errno in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::EBADF,
        ] {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(recovery(&e), Recovery::Pause, "{e}");
        }
    }

    #[test]
    fn pauses_double_up_to_a_bound_and_reset_after_success() {
        let mut backoff = Backoff::default();
        let pauses: Vec<_> = (0..10).map(|_| backoff.pause()).collect();
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert_eq!(pauses[1], FIRST_PAUSE * 2);
        assert_eq!(*pauses.last().unwrap(), LONGEST_PAUSE);
        assert!(backoff.remaining().is_some());
        backoff.reset();
        assert_eq!(backoff.remaining(), None);
        assert_eq!(backoff.pause(), FIRST_PAUSE);
    }
}
