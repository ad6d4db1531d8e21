//! Stopping servers on SIGINT and SIGTERM, on `signal-hook`: the first signal
//! shuts every registered server down gracefully, a second one ends the process
//! as the signal would have had it not been caught, and once no server is
//! registered any more the signals act as they did before.
//!
//! One set of handlers and one thread serve the whole process, whatever the
//! number of servers, so that registering and dropping servers never leaves a
//! signal ignored (`signal-hook` cannot restore a previous handler).

use crate::shutdown::ShutdownHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag::register_conditional_default;
use signal_hook::iterator::Signals;
use signal_hook::low_level::{emulate_default_handler, signal_name};
use std::io;
use std::process;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

/// The signals that stop a server.
const STOP_SIGNALS: [i32; 2] = [SIGINT, SIGTERM];

/// A server's place among those stopped by the signals; dropping it takes the
/// server out, and restores the signals' default action once none is left.
#[derive(Debug)]
pub(crate) struct Registration {
    id: u64,
}

/// The handlers, installed once per process.
struct Handlers {
    /// When set, SIGINT and SIGTERM act as if uncaught (in the signal handler
    /// itself, so even with every other thread stuck): set while no server is
    /// registered, and once a first signal started a graceful stop.
    armed: Arc<AtomicBool>,
    servers: Mutex<Servers>,
}

#[derive(Default)]
struct Servers {
    next_id: u64,
    registered: Vec<(u64, ShutdownHandle)>,
}

static HANDLERS: OnceLock<Handlers> = OnceLock::new();

impl Handlers {
    fn install() -> io::Result<Handlers> {
        let armed = Arc::new(AtomicBool::new(true));
        // Registered before the iterator's handler, so it runs first: with
        // `armed` set, the process ends there and then.
        for signal in STOP_SIGNALS {
            register_conditional_default(signal, Arc::clone(&armed))?;
        }
        let signals = Signals::new(STOP_SIGNALS)?;
        thread::Builder::new()
            .name("socketserver-signals".into())
            .spawn(move || listen(signals))?;
        Ok(Handlers {
            armed,
            servers: Mutex::default(),
        })
    }

    fn servers(&self) -> MutexGuard<'_, Servers> {
        // Every update is a single push, retain or take: nothing to repair.
        self.servers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The handlers, installed on first use. A failure is not kept: the next call
/// tries again (registering the default actions twice is harmless).
fn handlers() -> io::Result<&'static Handlers> {
    static INSTALLING: Mutex<()> = Mutex::new(());
    if let Some(handlers) = HANDLERS.get() {
        return Ok(handlers);
    }
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(handlers) = HANDLERS.get() {
        return Ok(handlers);
    }
    let handlers = Handlers::install()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot handle SIGINT and SIGTERM: {e}")))?;
    Ok(HANDLERS.get_or_init(|| handlers))
}

impl Registration {
    /// From now on SIGINT and SIGTERM stop the server `stop` belongs to
    /// instead of killing the process.
    pub(crate) fn new(stop: ShutdownHandle) -> io::Result<Registration> {
        let handlers = handlers()?;
        let mut servers = handlers.servers();
        let id = servers.next_id;
        servers.next_id += 1;
        servers.registered.push((id, stop));
        handlers.armed.store(false, Ordering::SeqCst);
        Ok(Registration { id })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(handlers) = HANDLERS.get() else {
            return;
        };
        let mut servers = handlers.servers();
        servers.registered.retain(|(id, _)| *id != self.id);
        if servers.registered.is_empty() {
            handlers.armed.store(true, Ordering::SeqCst);
        }
    }
}

/// In a child process just made by `fork`: lets SIGINT and SIGTERM end it as
/// by default. The child has no thread that acts on the signals (only the
/// thread that forked exists in it), so a caught signal would be lost and the
/// child would outlive a server that tells it to end.
///
/// Takes no lock, allocates nothing: another thread of the parent may have held
/// any lock when the process was forked. `OnceLock::get` is one atomic load.
pub(crate) fn after_fork_in_child() {
    if let Some(handlers) = HANDLERS.get() {
        handlers.armed.store(true, Ordering::SeqCst);
    }
}

/// The thread that acts on the signals: stops every registered server.
fn listen(mut signals: Signals) {
    for signal in signals.forever() {
        let Some(handlers) = HANDLERS.get() else {
            continue; // still being installed: the default action was armed
        };
        let servers = {
            let mut servers = handlers.servers();
            handlers.armed.store(true, Ordering::SeqCst);
            std::mem::take(&mut servers.registered)
        };
        if servers.is_empty() {
            // The last server went away as the signal came: do what it would
            // have done without us.
            let _ = emulate_default_handler(signal);
            process::exit(128 + signal);
        }
        for (_, stop) in servers {
            log::info!(
                "{}: stopping the server on {} (send it again to exit at once)",
                name(signal),
                stop.server()
            );
            // `shutdown` returns once the loop has stopped, which can take up
            // to `shutdown_timeout`: one thread each, so they stop together.
            let stopper = stop.clone();
            let spawned = thread::Builder::new()
                .name("socketserver-shutdown".into())
                .spawn(move || stopper.shutdown());
            if spawned.is_err() {
                stop.shutdown();
            }
        }
    }
}

/// The name of a signal, such as `SIGTERM`.
fn name(signal: i32) -> String {
    signal_name(signal).map_or_else(|| format!("signal {signal}"), str::to_owned)
}
