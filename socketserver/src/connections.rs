//! The registry of open connections: how a stopping server finds the requests
//! still being served, waits for them, and ends the ones that outstay
//! `shutdown_timeout`.

use crate::request::Close;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// Every request the server has dispatched and not yet finished (not nameable
/// outside the crate: the concurrency models reach it through their `close`).
#[derive(Default)]
pub struct Connections {
    state: Mutex<State>,
    idle: Condvar,
}

#[derive(Default)]
struct State {
    slots: Vec<Slot>,
    free: Vec<usize>,
    open: usize,
    /// Set once the server gave up waiting: a request that attaches after that
    /// (on that thread, if one is named) is closed at once.
    closing: Closing,
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Closing {
    #[default]
    No,
    /// Every request.
    All,
    /// The requests served on this thread (the server loop's own).
    On(ThreadId),
}

impl Closing {
    fn covers(self, thread: ThreadId) -> bool {
        match self {
            Closing::No => false,
            Closing::All => true,
            Closing::On(id) => id == thread,
        }
    }
}

enum Slot {
    Free,
    /// Dispatched, but its handler has not opened it yet.
    Pending,
    /// Being served on this thread.
    Open(ThreadId, Arc<dyn Close>),
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement, so a panic elsewhere
        // while holding the lock leaves nothing to repair.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more request, before it is handed to a worker, so that a
    /// stopping server waits for it even if its worker has not started yet.
    pub(crate) fn reserve(self: &Arc<Self>) -> Ticket {
        let mut state = self.lock();
        state.open += 1;
        let index = match state.free.pop() {
            Some(index) => {
                state.slots[index] = Slot::Pending;
                index
            }
            None => {
                state.slots.push(Slot::Pending);
                state.slots.len() - 1
            }
        };
        Ticket {
            connections: Arc::clone(self),
            index,
        }
    }

    /// How many requests are being served.
    pub(crate) fn len(&self) -> usize {
        self.lock().open
    }

    /// Waits until no request is left or `timeout` passes; true if none is left.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .idle
            .wait_timeout_while(state, timeout, |s| s.open > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.open == 0
    }

    /// Waits, without limit, until no request is left.
    pub(crate) fn wait_all(&self) {
        let state = self.lock();
        let _unused = self
            .idle
            .wait_while(state, |s| s.open > 0)
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// Shuts down every open connection (and every one opened from now on until
    /// [`reopen`](Connections::reopen)), so that their handlers see end of input
    /// and return. Returns how many there were.
    pub(crate) fn close_all(&self) -> usize {
        self.close(Closing::All)
    }

    /// Shuts down the connections served on `thread` (and those it opens from
    /// now on until [`reopen`](Connections::reopen)); returns how many there were.
    pub(crate) fn close_on(&self, thread: ThreadId) -> usize {
        self.close(Closing::On(thread))
    }

    fn close(&self, closing: Closing) -> usize {
        let mut state = self.lock();
        state.closing = closing;
        let mut closed = 0;
        for slot in &state.slots {
            if let Slot::Open(thread, conn) = slot
                && closing.covers(*thread)
            {
                conn.force_close();
                closed += 1;
            }
        }
        closed
    }

    /// Lets new connections live again after a `close_all` or `close_on`.
    pub(crate) fn reopen(&self) {
        self.lock().closing = Closing::No;
    }
}

/// One request's place in the registry; dropping it removes the request.
pub(crate) struct Ticket {
    connections: Arc<Connections>,
    index: usize,
}

impl Ticket {
    /// Records how to end the request, served on this thread, from outside
    /// its handler.
    pub(crate) fn attach(&self, conn: Arc<dyn Close>) {
        let thread = thread::current().id();
        let mut state = self.connections.lock();
        if state.closing.covers(thread) {
            conn.force_close();
        }
        state.slots[self.index] = Slot::Open(thread, conn);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.connections.lock();
        state.slots[self.index] = Slot::Free;
        state.free.push(self.index);
        state.open -= 1;
        if state.open == 0 {
            self.connections.idle.notify_all();
        }
    }
}
