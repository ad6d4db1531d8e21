//! [`Threading`]: a thread per connection, Python's `ThreadingMixIn`.

use super::{Concurrency, Drives, Job, sealed, wait_for_connections};
use crate::connections::Connections;
use crate::request::Request;
use crate::service::Service;
use std::fmt;
use std::io;
use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How many finished threads may pile up before they are reaped, at least.
const REAP_AT_LEAST: usize = 64;

/// How long a thread whose request is done waits for the next request before
/// it ends: under load, requests reuse threads instead of paying for a new one
/// each (a connection rate or a stream of datagrams), and once the load is
/// gone, so are the threads.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// A request's work, handed to a thread.
type Task = Box<dyn FnOnce() + Send>;

/// The threads waiting for a request.
#[derive(Default)]
struct Idle {
    state: Mutex<IdleState>,
}

#[derive(Default)]
struct IdleState {
    waiting: Vec<Arc<Waiter>>,
    /// Set when the server closes: threads end instead of waiting.
    closed: bool,
}

/// One waiting thread, and what it is handed.
struct Waiter {
    thread: Thread,
    slot: Mutex<Slot>,
    /// Whether `slot` holds something, so that a wake-up that is not for
    /// the slot (a spurious one) costs no lock.
    filled: AtomicBool,
}

enum Slot {
    Empty,
    Task(Task),
    /// The server closed: the thread ends.
    Closed,
}

impl Waiter {
    fn fill(&self, slot: Slot) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = slot;
        self.filled.store(true, Ordering::Release);
        // No system call unless the thread is asleep.
        self.thread.unpark();
    }

    fn take(&self) -> Slot {
        if !self.filled.swap(false, Ordering::Acquire) {
            return Slot::Empty;
        }
        mem::replace(
            &mut *self.slot.lock().unwrap_or_else(PoisonError::into_inner),
            Slot::Empty,
        )
    }
}

impl Idle {
    fn lock(&self) -> MutexGuard<'_, IdleState> {
        // Every update is a push, a pop, a retain or a flag: nothing to repair.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `task` to a waiting thread; gives it back when none waits.
    fn hand_over(&self, task: Task) -> Result<(), Task> {
        // The lock is let go before the wake-up: the thread woken may run at
        // once, and must not find the lock held.
        let waiter = self.lock().waiting.pop();
        match waiter {
            Some(waiter) => {
                waiter.fill(Slot::Task(task));
                Ok(())
            }
            None => Err(task),
        }
    }

    /// Ends every waiting thread, and makes those still running end after
    /// their request.
    fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        for waiter in state.waiting.drain(..) {
            waiter.fill(Slot::Closed);
        }
    }
}

/// A handler thread's life: its first request, then the next ones handed to
/// it while it waits, up to [`KEEP_ALIVE`] each time.
fn serve(first: Task, idle: &Idle) {
    let me = Arc::new(Waiter {
        thread: thread::current(),
        slot: Mutex::new(Slot::Empty),
        filled: AtomicBool::new(false),
    });
    let mut task = first;
    loop {
        task();
        {
            let mut state = idle.lock();
            if state.closed {
                return;
            }
            state.waiting.push(Arc::clone(&me));
        }
        task = match wait(&me, idle) {
            Some(next) => next,
            None => return,
        };
    }
}

/// Sleeps until the next task comes, up to [`KEEP_ALIVE`]; `None` when the
/// server closed or the wait timed out. (Looking for the next task for a few
/// microseconds before sleeping was measured, on 2 cores of a 16-core machine:
/// UDP and short connections both got some 20% slower, the threads that look
/// taking the CPU from those that work.)
fn wait(me: &Arc<Waiter>, idle: &Idle) -> Option<Task> {
    let deadline = Instant::now() + KEEP_ALIVE;
    let mut timed_out = false;
    loop {
        match me.take() {
            Slot::Task(task) => return Some(task),
            Slot::Closed => return None,
            Slot::Empty => {}
        }
        let now = Instant::now();
        if !timed_out && now >= deadline {
            let mut state = idle.lock();
            let before = state.waiting.len();
            state.waiting.retain(|waiter| !Arc::ptr_eq(waiter, me));
            if state.waiting.len() < before {
                return None;
            }
            // Taken from the list as the wait ended: a task (or the close) is
            // on its way; wait for it without a bound.
            timed_out = true;
        }
        if timed_out {
            thread::park();
        } else {
            thread::park_timeout(deadline - now);
        }
    }
}

/// Serves each connection on a thread of its own (Python's `ThreadingMixIn`).
///
/// * `block_on_close` (default `true`): closing the server waits for every
///   handler thread; connections still open `shutdown_timeout` after closing
///   began are shut down, so that their handlers see end of input and return.
/// * `daemon_threads` (default `false`): closing the server does not wait for
///   handler threads (in Rust, a process ends when `main` returns whatever its
///   other threads do, so this is all Python's daemon threads amount to).
///
/// A thread whose request is done waits up to 5 s for the next one before it
/// ends, so that a server under load (many short connections, a stream of
/// datagrams) reuses its threads rather than starting one per request; there
/// is still a thread for every request served at once, without bound (a
/// `thread_local!` a handler sets may thus be seen by a later request). Ended
/// threads are reaped as the server goes, so a long-running server holds no
/// handles of threads that have ended. For a bound on the number of threads,
/// use a worker pool or `max_connections`.
pub struct Threading {
    daemon_threads: bool,
    block_on_close: bool,
    threads: Vec<JoinHandle<()>>,
    reap_at: usize,
    idle: Arc<Idle>,
}

impl Default for Threading {
    fn default() -> Threading {
        Threading {
            daemon_threads: false,
            block_on_close: true,
            threads: Vec::new(),
            reap_at: REAP_AT_LEAST,
            idle: Arc::default(),
        }
    }
}

impl fmt::Debug for Threading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Threading")
            .field("daemon_threads", &self.daemon_threads)
            .field("block_on_close", &self.block_on_close)
            .field("threads", &self.threads.len())
            .field("idle", &self.idle.lock().waiting.len())
            .finish()
    }
}

impl Threading {
    /// Whether closing the server leaves handler threads running (Python's
    /// `daemon_threads`; default `false`).
    pub fn daemon_threads(mut self, on: bool) -> Threading {
        self.daemon_threads = on;
        self
    }

    /// Whether closing the server waits for handler threads (Python's
    /// `block_on_close`; default `true`).
    pub fn block_on_close(mut self, on: bool) -> Threading {
        self.block_on_close = on;
        self
    }

    /// How many handler threads this model holds a handle of: the running
    /// ones (serving a request, or waiting for the next), and those that ended
    /// since the last reaping (reaping happens on
    /// every turn of the server loop, under `handle_request`, and whenever the
    /// count has doubled). Always 0 with `daemon_threads` or without
    /// `block_on_close`, which keep no handles.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    fn waits_on_close(&self) -> bool {
        self.block_on_close && !self.daemon_threads
    }

    fn reap(&mut self) {
        self.threads.retain(|t| !t.is_finished());
        self.reap_at = (2 * self.threads.len()).max(REAP_AT_LEAST);
    }
}

impl sealed::Sealed for Threading {}

impl<R: Request> Drives<R> for Threading {
    fn process<S: Service<Request = R>>(&mut self, job: Job<S>) -> io::Result<()> {
        let Err(task) = self.idle.hand_over(Box::new(move || job.run())) else {
            return Ok(());
        };
        let idle = Arc::clone(&self.idle);
        let thread = thread::Builder::new()
            .name("socketserver-request".into())
            .spawn(move || serve(task, &idle))?;
        if self.waits_on_close() {
            // Reaping when the list has doubled keeps it amortised O(1) per
            // connection however many threads are alive.
            if self.threads.len() >= self.reap_at {
                self.reap();
            }
            self.threads.push(thread);
        }
        Ok(())
    }
}

impl Concurrency for Threading {
    fn service_actions(&mut self) {
        self.reap();
    }

    fn close(&mut self, connections: &Connections, shutdown_timeout: Duration) {
        if !self.waits_on_close() {
            self.idle.close();
            self.threads.clear();
            return;
        }
        wait_for_connections(connections, shutdown_timeout, Instant::now());
        self.idle.close();
        for thread in self.threads.drain(..) {
            // `Job::run` catches panics, so a join error cannot carry one of ours.
            let _ = thread.join();
        }
    }
}
