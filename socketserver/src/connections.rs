//! The registry of open connections: how a stopping server finds the requests
//! still being served, waits for them, and ends the ones that outstay
//! `shutdown_timeout`.

use crate::request::Close;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
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
    /// is closed at once.
    closing: bool,
}

enum Slot {
    Free,
    /// Dispatched, but its handler has not opened it yet.
    Pending,
    Open(Arc<dyn Close>),
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
        let mut state = self.lock();
        state.closing = true;
        for slot in &state.slots {
            if let Slot::Open(conn) = slot {
                conn.force_close();
            }
        }
        state.open
    }

    /// Lets new connections live again after a [`close_all`](Connections::close_all).
    pub(crate) fn reopen(&self) {
        self.lock().closing = false;
    }
}

/// One request's place in the registry; dropping it removes the request.
pub(crate) struct Ticket {
    connections: Arc<Connections>,
    index: usize,
}

impl Ticket {
    /// Records how to end the request from outside its handler.
    pub(crate) fn attach(&self, conn: Arc<dyn Close>) {
        let mut state = self.connections.lock();
        if state.closing {
            conn.force_close();
        }
        state.slots[self.index] = Slot::Open(conn);
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
