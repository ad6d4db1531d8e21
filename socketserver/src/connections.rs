//! The registry of open connections: how a stopping server finds the requests
//! still being served, waits for them, and ends the ones that outstay
//! `shutdown_timeout`, wherever each lives (a [`Place`]: a thread of the
//! server's process, or a child process); and how `max_connections` is held:
//! the server accepts only while the registry is below it, and the registry
//! wakes the server's loop when a request ends at the limit.

use crate::report::emit;
use crate::request::{Close, ConnId, Switchboard};
use crate::selector::Waker;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// Every request the server has dispatched and not yet finished (not nameable
/// outside the crate: the concurrency models reach it through their `close`).
#[derive(Default)]
pub struct Connections {
    state: Mutex<State>,
    idle: Condvar,
    /// Open requests at most (`max_connections`).
    limit: Option<usize>,
    /// Wakes the server loop, which stops accepting at the limit.
    wake_loop: OnceLock<Waker>,
}

#[derive(Default)]
struct State {
    slots: Vec<Slot>,
    /// Of each place in `slots`: how many requests it has held, so that a
    /// [`ConnId`] names one request only.
    generations: Vec<u32>,
    free: Vec<usize>,
    open: usize,
    /// Threads waiting on `idle`: a request that ends wakes them only if
    /// there are any (a notification is a system call even when none waits).
    waiting: usize,
    /// Set once the server gave up waiting: a request that attaches after that
    /// (on that thread, if one is named) is closed at once.
    closing: Closing,
}

/// Where a request is served, which says what ends it from outside (its
/// closer: shutting its connection down, or signalling its process) and
/// which closings reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// On this thread of the server's own process.
    Thread(ThreadId),
    /// In a child process of the server's (the `forking` model): never on
    /// the loop's thread, whatever thread forked it.
    Child,
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
    fn covers(self, place: Place) -> bool {
        match self {
            Closing::No => false,
            Closing::All => true,
            Closing::On(id) => place == Place::Thread(id),
        }
    }
}

enum Slot {
    Free,
    /// Dispatched, but its handler has not opened it yet.
    Pending,
    /// Being served there; the closer ends it.
    Open(Place, Arc<dyn Close>),
}

impl Connections {
    /// A registry that lets the server accept while fewer than `limit`
    /// requests are open.
    pub(crate) fn with_limit(limit: Option<usize>) -> Connections {
        Connections {
            limit,
            ..Connections::default()
        }
    }

    /// Gives the registry what wakes the server loop, for when a request
    /// ends at the limit.
    pub(crate) fn attach(&self, wake_loop: Waker) {
        let _ = self.wake_loop.set(wake_loop);
    }

    /// Whether one more request may be accepted: fewer are open than
    /// `max_connections`. The loop asks before it waits for connections;
    /// the place itself is taken by [`try_reserve`](Connections::try_reserve).
    pub(crate) fn below_limit(&self) -> bool {
        self.limit.is_none_or(|limit| self.lock().open < limit)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement, so a panic elsewhere
        // while holding the lock leaves nothing to repair.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more request, unless `max_connections` are open: taken
    /// before the request is accepted (at the limit, the connection is left
    /// waiting in the kernel's queue rather than accepted and closed), and
    /// so before it is handed to a worker, so that a stopping server waits
    /// for it even if its worker has not started yet.
    pub(crate) fn try_reserve(self: &Arc<Self>) -> Option<Ticket> {
        let mut state = self.lock();
        if self.limit.is_some_and(|limit| state.open >= limit) {
            return None;
        }
        state.open += 1;
        let index = match state.free.pop() {
            Some(index) => {
                state.slots[index] = Slot::Pending;
                index
            }
            None => {
                state.slots.push(Slot::Pending);
                state.generations.push(0);
                state.slots.len() - 1
            }
        };
        Some(Ticket {
            id: ConnId::new(
                u32::try_from(index).unwrap_or(u32::MAX),
                state.generations[index],
            ),
            connections: Arc::clone(self),
            index,
            wake: true,
        })
    }

    /// How many requests are being served.
    pub(crate) fn len(&self) -> usize {
        self.lock().open
    }

    /// Waits until no request is left or `timeout` passes; true if none is left.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> bool {
        let mut state = self.lock();
        state.waiting += 1;
        let (mut state, _) = self
            .idle
            .wait_timeout_while(state, timeout, |s| s.open > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.waiting -= 1;
        state.open == 0
    }

    /// Waits, without limit, until no request is left.
    pub(crate) fn wait_all(&self) {
        let mut state = self.lock();
        state.waiting += 1;
        let mut state = self
            .idle
            .wait_while(state, |s| s.open > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.waiting -= 1;
    }

    /// Shuts down every open connection (and every one opened from now on until
    /// [`reopen`](Connections::reopen)), so that their handlers see end of input
    /// and return, and asks every child process serving one to end. Returns how
    /// many there were.
    pub(crate) fn close_all(&self) -> usize {
        self.close(Closing::All)
    }

    /// Shuts down the connections served on `thread` (and those it opens from
    /// now on until [`reopen`](Connections::reopen)); returns how many there were.
    /// A child process is never on a thread of this process, whichever thread
    /// forked it.
    pub(crate) fn close_on(&self, thread: ThreadId) -> usize {
        self.close(Closing::On(thread))
    }

    fn close(&self, closing: Closing) -> usize {
        let mut state = self.lock();
        state.closing = closing;
        let mut closed = 0;
        for slot in &state.slots {
            if let Slot::Open(place, conn) = slot
                && closing.covers(*place)
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

    /// The closer of the open request `id`.
    fn find(&self, id: ConnId) -> Option<Arc<dyn Close>> {
        let state = self.lock();
        match state.slots.get(id.index()) {
            Some(Slot::Open(_, closer)) if state.generations[id.index()] == id.generation() => {
                Some(Arc::clone(closer))
            }
            _ => None,
        }
    }
}

/// How a handler reaches the other connections: through their closers,
/// which know where each is served. The registry's lock is not held while
/// sending.
impl Switchboard for Connections {
    fn send(&self, to: ConnId, bytes: &[u8]) -> io::Result<()> {
        match self.find(to) {
            Some(closer) => closer.send(&Arc::from(bytes)),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no connection {to} is open"),
            )),
        }
    }

    fn broadcast(&self, from: ConnId, bytes: &[u8]) -> usize {
        let closers: Vec<Arc<dyn Close>> = {
            let state = self.lock();
            state
                .slots
                .iter()
                .enumerate()
                .filter(|&(index, _)| index != from.index())
                .filter_map(|(_, slot)| match slot {
                    Slot::Open(_, closer) => Some(Arc::clone(closer)),
                    _ => None,
                })
                .collect()
        };
        let bytes: Arc<[u8]> = Arc::from(bytes);
        closers
            .iter()
            .filter(|closer| closer.send(&bytes).is_ok())
            .count()
    }
}

/// One request's place in the registry; dropping it removes the request.
pub(crate) struct Ticket {
    id: ConnId,
    connections: Arc<Connections>,
    index: usize,
    /// Whether letting go of it at the limit wakes the loop.
    wake: bool,
}

impl Ticket {
    /// The request's name, by which other handlers send to it.
    pub(crate) fn id(&self) -> ConnId {
        self.id
    }

    /// The registry, as the request's handler reaches the other connections.
    pub(crate) fn switchboard(&self) -> Arc<dyn Switchboard> {
        self.connections.clone()
    }

    /// Gives back a place the loop took and did not use (nothing to accept,
    /// or the request refused): the loop, which holds it, goes on by itself,
    /// so it is not woken.
    pub(crate) fn unused(mut self) {
        self.wake = false;
    }

    /// Records how to end the request, served on this thread, from outside
    /// its handler.
    pub(crate) fn attach(&self, conn: Arc<dyn Close>) {
        self.attach_at(Place::Thread(thread::current().id()), conn);
    }

    /// Records where the request is served and what ends it from there; if
    /// the server already gave up on requests there, ends it at once.
    pub(crate) fn attach_at(&self, place: Place, closer: Arc<dyn Close>) {
        let mut state = self.connections.lock();
        if state.closing.covers(place) {
            closer.force_close();
        }
        state.slots[self.index] = Slot::Open(place, closer);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let connections = &*self.connections;
        let mut state = connections.lock();
        // At the limit the loop stopped accepting; it may again.
        let was_full = self.wake && connections.limit.is_some_and(|limit| state.open >= limit);
        state.slots[self.index] = Slot::Free;
        state.generations[self.index] = state.generations[self.index].wrapping_add(1);
        state.free.push(self.index);
        state.open -= 1;
        if state.open == 0 && state.waiting > 0 {
            connections.idle.notify_all();
        }
        drop(state);
        if was_full
            && let Some(waker) = connections.wake_loop.get()
            && let Err(e) = waker.wake()
        {
            emit!(
                log::Level::Error,
                "cannot wake the server loop ({e}); it accepts again within its poll_interval"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::{Events, Selector};

    #[test]
    fn a_request_that_ends_at_the_limit_wakes_the_loop() {
        let mut selector = Selector::new().unwrap();
        let (key, waker) = selector.waker(()).unwrap();
        let mut events = Events::with_capacity(4);
        let connections = Arc::new(Connections::with_limit(Some(2)));
        connections.attach(waker);
        let first = connections.try_reserve().unwrap();
        assert!(connections.below_limit());
        let second = connections.try_reserve().unwrap();
        assert!(!connections.below_limit());
        assert!(
            connections.try_reserve().is_none(),
            "a third place past the limit"
        );
        assert_eq!(connections.len(), 2);
        drop(first);
        assert!(connections.below_limit());
        selector.select(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.iter().any(|ready| ready.key() == key));
        // Below the limit, a request that ends wakes nothing.
        drop(second);
        selector.select(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
        assert_eq!(connections.len(), 0);
    }

    #[test]
    fn without_a_limit_there_is_always_room() {
        let connections = Arc::new(Connections::default());
        let tickets: Vec<_> = (0..100)
            .map(|_| connections.try_reserve().unwrap())
            .collect();
        assert!(connections.below_limit());
        assert_eq!(connections.len(), 100);
        drop(tickets);
        assert!(connections.wait_idle(Duration::ZERO));
    }

    #[test]
    fn the_last_request_to_end_wakes_a_waiting_close() {
        let connections = Arc::new(Connections::default());
        let ticket = connections.try_reserve().unwrap();
        thread::scope(|s| {
            let waiter = s.spawn(|| connections.wait_all());
            // The waiter is counted under the lock before it sleeps.
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while connections.lock().waiting == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the waiter never waited"
                );
                thread::yield_now();
            }
            drop(ticket);
            waiter.join().unwrap();
        });
        assert_eq!(connections.lock().waiting, 0);
    }

    /// Counts how often it was told to end its request.
    #[derive(Default)]
    struct Counted(std::sync::atomic::AtomicUsize);

    impl Close for Counted {
        fn force_close(&self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl Counted {
        fn count(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[test]
    fn closing_the_loops_thread_spares_child_processes() {
        let connections = Arc::new(Connections::default());
        let (on_thread, in_child) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
        let first = connections.try_reserve().unwrap();
        first.attach(on_thread.clone());
        let second = connections.try_reserve().unwrap();
        second.attach_at(Place::Child, in_child.clone());
        // What `ShutdownHandle::shutdown` does to a loop stuck in a handler.
        assert_eq!(connections.close_on(thread::current().id()), 1);
        assert_eq!((on_thread.count(), in_child.count()), (1, 0));
        connections.reopen();
        // What closing the server does once `shutdown_timeout` has passed.
        assert_eq!(connections.close_all(), 2);
        assert_eq!((on_thread.count(), in_child.count()), (2, 1));
        // A request that finds the server closing is ended at once.
        let third = connections.try_reserve().unwrap();
        let late = Arc::new(Counted::default());
        third.attach_at(Place::Child, late.clone());
        assert_eq!(late.count(), 1);
        drop((first, second, third));
        assert_eq!(connections.len(), 0);
    }
}
