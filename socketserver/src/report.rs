//! Where the runtime's messages go, so that a mistake is never silent: through
//! the [`log`] facade when the program installed a logger, and otherwise, for
//! errors and warnings, to standard error (as Python prints a traceback).
//!
//! Also how a panic in a handler is caught: the standard panic hook would print
//! it on its own, without the client's address, and the server would report it
//! a second time; a hook of ours (chained to the one it replaces) keeps the
//! panic's location and backtrace for the report instead, for panics inside
//! [`catch_panic`] only. The hook that was installed before ours is not
//! called for those: `handle_error` is the place to see them (the crate docs
//! say so). Under `panic = "abort"` nothing is caught, and every panic goes
//! to the previous hook.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::panic::{self, UnwindSafe};
use std::sync::{Once, OnceLock};

/// Logs at `$level` (target: the calling module), or writes to standard error
/// when nothing would take the record and it is a warning or an error.
macro_rules! emit {
    ($level:expr, $($arg:tt)+) => {
        $crate::report::write($level, ::std::module_path!(), ::std::format_args!($($arg)+))
    };
}
pub(crate) use emit;

/// In a forked child (the `forking` model), where the runtime's reports go
/// instead of `log` or std's standard error: a copy of the parent's standard
/// error, written to without any lock. Another thread of the parent may have
/// held std's stderr lock, or the logger's, at the fork, and nothing in the
/// child would ever release it.
static CHILD_SINK: OnceLock<File> = OnceLock::new();

/// Called in a forked child, before it serves: from now on this process
/// reports through `stderr` (a copy of the parent's, made before the fork).
pub(crate) fn enter_forked_child(stderr: &File) {
    if let Ok(copy) = stderr.try_clone() {
        let _ = CHILD_SINK.set(copy);
    }
}

/// See [`emit!`].
pub(crate) fn write(level: log::Level, target: &str, message: fmt::Arguments<'_>) {
    if let Some(sink) = CHILD_SINK.get() {
        if level <= log::Level::Warn {
            let line = format!("[{level} {target}] {message}\n");
            let _ = (&*sink).write_all(line.as_bytes());
        }
        return;
    }
    // `log` drops every record while its maximum level is `Off`, which it is
    // until a logger sets it: i.e. in a program that installed none.
    if log::max_level() == log::LevelFilter::Off {
        if level <= log::Level::Warn {
            // Not `eprintln!`, which panics when standard error is gone (a
            // closed pipe): a report must never bring the server down.
            let _ = writeln!(io::stderr().lock(), "[{level} {target}] {message}");
        }
        return;
    }
    log::log!(target: target, level, "{message}");
}

/// A caught panic: its message, and where it happened.
#[derive(Debug)]
pub(crate) struct Panic {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
    /// Captured as `RUST_BACKTRACE` says (none unless it is set).
    pub(crate) backtrace: Option<Backtrace>,
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "panicked at {location}: {}", self.message),
            None => write!(f, "panicked: {}", self.message),
        }
    }
}

thread_local! {
    /// Set while this thread runs inside `catch_panic`.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// What the hook kept of the last panic inside `catch_panic`.
    static CAUGHT: RefCell<Option<(Option<String>, Backtrace)>> = const { RefCell::new(None) };
}

/// Runs `f`, turning a panic into a [`Panic`] that the caller reports; the panic
/// hook prints nothing for it.
pub(crate) fn catch_panic<R>(f: impl FnOnce() -> R + UnwindSafe) -> Result<R, Panic> {
    install_hook();
    CAUGHT.take();
    let outer = CATCHING.replace(true);
    let result = panic::catch_unwind(f);
    CATCHING.set(outer);
    // Also what a panic caught inside `f` (by `f` itself) left behind.
    let caught = CAUGHT.take();
    result.map_err(|payload| {
        let (location, backtrace) = caught.unzip();
        Panic {
            message: panic_message(&*payload),
            location: location.flatten(),
            backtrace: backtrace.filter(|b| b.status() == BacktraceStatus::Captured),
        }
    })
}

/// Installs, once, the hook that keeps quiet about the panics `catch_panic`
/// reports, and hands every other panic to the hook it replaced.
fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // Under `panic = "abort"` nothing is caught: the process ends
            // here, so the panic must be printed as usual.
            if !(cfg!(panic = "unwind") && CATCHING.get()) {
                return previous(info);
            }
            // One already kept: a panic while unwinding from it (which
            // aborts), or one the handler caught itself. Print this one as
            // usual too, and keep it: it is the one that may reach us.
            if CAUGHT.with_borrow(Option::is_some) {
                previous(info);
            }
            let location = info.location().map(ToString::to_string);
            CAUGHT.set(Some((location, Backtrace::capture())));
        }));
    });
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
