//! A selectors-style readiness API over [`mio::Poll`], after Python's
//! [`selectors`](https://docs.python.org/3/library/selectors.html) module.
//!
//! Register an I/O object with the events it is interested in and a piece of data
//! of your own; [`Selector::select`] waits until some of them are ready and reports
//! each ready registration by its [`Key`], through which you reach your data again.
//! The server loop of this crate ([`Server::serve_forever`](crate::Server::serve_forever))
//! is built on it, and you can build your own loops with it.
//!
//! Readiness is *edge-triggered*, as in `mio`: a ready event is reported once, when
//! the object becomes ready. After an event, keep reading (or accepting, or writing)
//! until the call returns [`io::ErrorKind::WouldBlock`]; only then is a new event
//! guaranteed. Objects must be in non-blocking mode before they are registered.
//!
//! # Example: the echo server of Python's `selectors` documentation
//!
//! ```no_run
//! use socketserver::selector::{Events, Interest, Selector};
//! use mio::net::{TcpListener, TcpStream};
//! use std::collections::HashMap;
//! use std::io::{self, Read, Write};
//!
//! /// What each registration stands for: Python stores a callback in `key.data`.
//! enum Role {
//!     Accept,
//!     Read,
//! }
//!
//! fn main() -> io::Result<()> {
//!     let mut sel = Selector::new()?;
//!     let mut listener = TcpListener::bind("127.0.0.1:1234".parse().unwrap())?;
//!     sel.register(&mut listener, Interest::READABLE, Role::Accept)?;
//!     let mut conns = HashMap::new();
//!     let mut events = Events::with_capacity(128);
//!     loop {
//!         sel.select(&mut events, None)?;
//!         for ready in events.iter() {
//!             match sel.get(ready.key()) {
//!                 Some(Role::Accept) => loop {
//!                     // Edge-triggered: accept until the backlog is empty.
//!                     match listener.accept() {
//!                         Ok((mut conn, addr)) => {
//!                             println!("accepted {addr}");
//!                             let key = sel.register(&mut conn, Interest::READABLE, Role::Read)?;
//!                             conns.insert(key, conn);
//!                         }
//!                         Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
//!                         // Aborted connections, or out of descriptors: not a
//!                         // reason to stop serving (a server would also pause).
//!                         Err(e) => {
//!                             eprintln!("accept: {e}");
//!                             break;
//!                         }
//!                     }
//!                 },
//!                 Some(Role::Read) => {
//!                     let conn: &mut TcpStream = conns.get_mut(&ready.key()).unwrap();
//!                     let mut buf = [0; 1000];
//!                     let open = loop {
//!                         match conn.read(&mut buf) {
//!                             Ok(0) => break false,
//!                             Ok(n) if conn.write_all(&buf[..n]).is_ok() => {}
//!                             Err(e) if e.kind() == io::ErrorKind::WouldBlock => break true,
//!                             // A failed write (or read) ends this connection only.
//!                             _ => break false,
//!                         }
//!                     };
//!                     if !open {
//!                         let mut conn = conns.remove(&ready.key()).unwrap();
//!                         sel.unregister(&mut conn, ready.key());
//!                     }
//!                 }
//!                 // Unregistered earlier in this same batch of events.
//!                 None => {}
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! (This drops a client whose socket buffer is full, since `write_all` on a
//! non-blocking socket then fails with `WouldBlock`; a real server keeps what
//! could not be sent and waits for writability.)

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use mio::Interest;
pub use mio::event::Source;

/// Bits of a [`mio::Token`] that hold the slot index; the rest hold the slot's
/// generation, so that a key from an earlier registration does not match a new
/// one. (On 32-bit targets that leaves 16 bits each: at most 65,535
/// registrations, and a stale key could match again after 65,536 reuses of its
/// slot.)
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;

/// The handle of one registration in a [`Selector`], Python's `SelectorKey`.
///
/// Keys are small and `Copy`. A key names one registration only: once that is
/// unregistered, the key no longer finds anything, even after its slot is reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(usize);

impl Key {
    fn new(index: usize, generation: usize) -> Key {
        Key((generation << INDEX_BITS) | index)
    }

    fn index(self) -> usize {
        self.0 & INDEX_MASK
    }

    fn token(self) -> mio::Token {
        mio::Token(self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}#{})", self.index(), self.0 >> INDEX_BITS)
    }
}

struct Slot<D> {
    generation: usize,
    entry: Option<Entry<D>>,
}

struct Entry<D> {
    interest: Interest,
    data: D,
}

/// A readiness selector: Python's `selectors.DefaultSelector`, on [`mio::Poll`]
/// (epoll on Linux, kqueue on the BSDs and macOS).
///
/// `D` is the data you attach to each registration (Python's `key.data`).
/// See the [module documentation](self) for a complete echo server.
pub struct Selector<D> {
    poll: mio::Poll,
    slots: Vec<Slot<D>>,
    free: Vec<usize>,
    len: usize,
    waker: Option<Waker>,
}

impl<D> Selector<D> {
    /// Creates a selector with no registrations.
    pub fn new() -> io::Result<Selector<D>> {
        Ok(Selector {
            poll: mio::Poll::new()?,
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            waker: None,
        })
    }

    /// Registers `source` for `interest`, with `data` of your own, and returns its key.
    ///
    /// The source must be non-blocking (every `mio::net` type is; a `std` or
    /// `socket2` socket needs `set_nonblocking(true)` first, and raw file
    /// descriptors can be registered through [`mio::unix::SourceFd`]).
    /// Registering the same source twice is an error of the operating system.
    pub fn register<S>(&mut self, source: &mut S, interest: Interest, data: D) -> io::Result<Key>
    where
        S: Source + ?Sized,
    {
        let key = self.insert(Entry { interest, data })?;
        if let Err(e) = self.poll.registry().register(source, key.token(), interest) {
            self.remove(key);
            return Err(e);
        }
        Ok(key)
    }

    /// Changes the events `source` (registered as `key`) is watched for.
    pub fn modify<S>(&mut self, source: &mut S, key: Key, interest: Interest) -> io::Result<()>
    where
        S: Source + ?Sized,
    {
        let entry = self.entry_mut(key).ok_or_else(|| unknown_key(key))?;
        entry.interest = interest;
        self.poll
            .registry()
            .reregister(source, key.token(), interest)
    }

    /// Stops watching `source` and returns the data it was registered with, or
    /// `None` when `key` is not (or no longer) registered.
    ///
    /// The registration is forgotten even when the operating system refuses to
    /// deregister (for instance because the descriptor was already closed, which
    /// removes it from the selector anyway), as Python does.
    pub fn unregister<S>(&mut self, source: &mut S, key: Key) -> Option<D>
    where
        S: Source + ?Sized,
    {
        self.entry_mut(key)?;
        let _ = self.poll.registry().deregister(source);
        self.remove(key).map(|entry| entry.data)
    }

    /// The data of a registration, or `None` if `key` is not registered (any more).
    pub fn get(&self, key: Key) -> Option<&D> {
        self.entry(key).map(|entry| &entry.data)
    }

    /// The data of a registration, mutably.
    pub fn get_mut(&mut self, key: Key) -> Option<&mut D> {
        self.entry_mut(key).map(|entry| &mut entry.data)
    }

    /// The events a registration is watched for.
    pub fn interest(&self, key: Key) -> Option<Interest> {
        self.entry(key).map(|entry| entry.interest)
    }

    /// Every registration, by key, with its data (Python's `get_map`).
    pub fn iter(&self) -> impl Iterator<Item = (Key, &D)> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let entry = slot.entry.as_ref()?;
            Some((Key::new(index, slot.generation), &entry.data))
        })
    }

    /// Every registration, by key, with its data, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Key, &mut D)> + '_ {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(index, slot)| {
                let entry = slot.entry.as_mut()?;
                Some((Key::new(index, slot.generation), &mut entry.data))
            })
    }

    /// How many registrations there are (the waker counts as one).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns a [`Waker`] that makes [`select`](Selector::select) return from any
    /// thread; its wake-ups are reported as readable events of the returned key,
    /// which carries `data`.
    ///
    /// A selector has one waker: the first call creates it; later calls fail with
    /// [`io::ErrorKind::AlreadyExists`] (clone the waker you have instead).
    pub fn waker(&mut self, data: D) -> io::Result<(Key, Waker)> {
        if self.waker.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this selector already has a waker: clone it instead of asking for another",
            ));
        }
        let key = self.insert(Entry {
            interest: Interest::READABLE,
            data,
        })?;
        let waker = match mio::Waker::new(self.poll.registry(), key.token()) {
            Ok(waker) => Waker(Arc::new(waker)),
            Err(e) => {
                self.remove(key);
                return Err(e);
            }
        };
        self.waker = Some(waker.clone());
        Ok((key, waker))
    }

    /// Waits until at least one registration is ready or `timeout` passes
    /// (`None` waits without limit; `Some(Duration::ZERO)` only polls), and puts
    /// the ready registrations into `events`, replacing what it held.
    ///
    /// A signal that interrupts the wait does not end it early: the wait resumes
    /// for what is left of `timeout`, as in Python 3.5 and later. Events of keys
    /// unregistered in the meantime are left out; a key unregistered *while* you
    /// go through `events` is not, so look data up with [`get`](Selector::get),
    /// which then returns `None`.
    pub fn select(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut wait = timeout;
        loop {
            match self.poll.poll(&mut events.inner, wait) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if let Some(deadline) = deadline {
                        wait = Some(deadline.saturating_duration_since(Instant::now()));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        events.ready.clear();
        for event in events.inner.iter() {
            let key = Key(event.token().0);
            if self.entry(key).is_some() {
                events.ready.push(Ready::from_mio(key, event));
            }
        }
        Ok(())
    }

    fn insert(&mut self, entry: Entry<D>) -> io::Result<Key> {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index];
            slot.entry = Some(entry);
            self.len += 1;
            return Ok(Key::new(index, slot.generation));
        }
        let index = self.slots.len();
        if index >= INDEX_MASK {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("a selector holds at most {INDEX_MASK} registrations"),
            ));
        }
        self.slots.push(Slot {
            generation: 0,
            entry: Some(entry),
        });
        self.len += 1;
        Ok(Key::new(index, 0))
    }

    fn remove(&mut self, key: Key) -> Option<Entry<D>> {
        self.entry(key)?;
        let index = key.index();
        let slot = &mut self.slots[index];
        let entry = slot.entry.take();
        // Wrapping within the bits the token has left for it.
        slot.generation = (slot.generation + 1) & (usize::MAX >> INDEX_BITS);
        self.free.push(index);
        self.len -= 1;
        entry
    }

    fn entry(&self, key: Key) -> Option<&Entry<D>> {
        let slot = self.slots.get(key.index())?;
        if Key::new(key.index(), slot.generation) != key {
            return None;
        }
        slot.entry.as_ref()
    }

    fn entry_mut(&mut self, key: Key) -> Option<&mut Entry<D>> {
        let slot = self.slots.get_mut(key.index())?;
        if Key::new(key.index(), slot.generation) != key {
            return None;
        }
        slot.entry.as_mut()
    }
}

impl<D> fmt::Debug for Selector<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("registrations", &self.len)
            .finish_non_exhaustive()
    }
}

fn unknown_key(key: Key) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{key:?} is not registered with this selector"),
    )
}

/// Makes a [`Selector::select`] in another thread return. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Waker(Arc<mio::Waker>);

impl Waker {
    /// Wakes the selector; wake-ups before the next `select` coalesce into one event.
    pub fn wake(&self) -> io::Result<()> {
        self.0.wake()
    }
}

/// The buffer [`Selector::select`] fills; make one and reuse it, so that waiting
/// allocates nothing.
pub struct Events {
    inner: mio::Events,
    ready: Vec<Ready>,
}

impl Events {
    /// Room for up to `capacity` ready registrations per `select`; more stay
    /// pending and are reported by the next call.
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            inner: mio::Events::with_capacity(capacity),
            ready: Vec::with_capacity(capacity),
        }
    }

    /// The ready registrations of the last `select`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Ready> + '_ {
        self.ready.iter().copied()
    }

    /// How many registrations the last `select` found ready.
    pub fn len(&self) -> usize {
        self.ready.len()
    }

    /// Whether the last `select` timed out with nothing ready.
    pub fn is_empty(&self) -> bool {
        self.ready.is_empty()
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ready.iter()).finish()
    }
}

/// One ready registration: its key and what it is ready for (Python's `(key, mask)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    key: Key,
    flags: u8,
}

const READABLE: u8 = 1;
const WRITABLE: u8 = 2;
const ERROR: u8 = 4;
const READ_CLOSED: u8 = 8;
const WRITE_CLOSED: u8 = 16;

impl Ready {
    fn from_mio(key: Key, event: &mio::event::Event) -> Ready {
        let mut flags = 0;
        for (on, flag) in [
            (event.is_readable(), READABLE),
            (event.is_writable(), WRITABLE),
            (event.is_error(), ERROR),
            (event.is_read_closed(), READ_CLOSED),
            (event.is_write_closed(), WRITE_CLOSED),
        ] {
            if on {
                flags |= flag;
            }
        }
        Ready { key, flags }
    }

    /// The registration that is ready.
    pub fn key(&self) -> Key {
        self.key
    }

    /// Reading (or accepting) will not block.
    pub fn is_readable(&self) -> bool {
        self.flags & READABLE != 0
    }

    /// Writing will not block.
    pub fn is_writable(&self) -> bool {
        self.flags & WRITABLE != 0
    }

    /// The object has an error pending (read it with `take_error`).
    pub fn is_error(&self) -> bool {
        self.flags & ERROR != 0
    }

    /// The peer will send nothing more.
    pub fn is_read_closed(&self) -> bool {
        self.flags & READ_CLOSED != 0
    }

    /// Nothing more can be written.
    pub fn is_write_closed(&self) -> bool {
        self.flags & WRITE_CLOSED != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn reports_readiness_with_the_registered_data() {
        let mut sel = Selector::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut a = mio::net::UnixStream::from_std(a);
        let key = sel.register(&mut a, Interest::READABLE, "a").unwrap();
        let mut events = Events::with_capacity(8);

        sel.select(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());

        b.write_all(b"x").unwrap();
        sel.select(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        let ready: Vec<_> = events.iter().collect();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].key(), key);
        assert!(ready[0].is_readable());
        assert_eq!(sel.get(key), Some(&"a"));
        assert_eq!(sel.unregister(&mut a, key), Some("a"));
        assert!(sel.is_empty());
    }

    #[test]
    fn stale_keys_find_nothing_after_their_slot_is_reused() {
        let mut sel = Selector::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut a = mio::net::UnixStream::from_std(a);
        let old = sel.register(&mut a, Interest::READABLE, 1).unwrap();
        sel.unregister(&mut a, old);
        let new = sel.register(&mut a, Interest::READABLE, 2).unwrap();
        assert_eq!(old.index(), new.index());
        assert_ne!(old, new);
        assert_eq!(sel.get(old), None);
        assert_eq!(sel.get(new), Some(&2));
        assert_eq!(sel.unregister(&mut a, old), None);
        assert!(sel.modify(&mut a, old, Interest::WRITABLE).is_err());
    }

    #[test]
    fn the_waker_wakes_a_select_in_another_thread() {
        let mut sel = Selector::new().unwrap();
        let (key, waker) = sel.waker("wake").unwrap();
        assert!(sel.waker("again").is_err());
        let t = std::thread::spawn(move || waker.wake().unwrap());
        let mut events = Events::with_capacity(8);
        sel.select(&mut events, Some(Duration::from_secs(30)))
            .unwrap();
        t.join().unwrap();
        assert_eq!(events.iter().map(|r| r.key()).collect::<Vec<_>>(), [key]);
        assert_eq!(sel.get(key), Some(&"wake"));
    }
}
