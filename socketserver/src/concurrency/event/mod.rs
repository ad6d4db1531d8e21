//! [`Event`]: non-blocking event loops, one per worker thread, each serving
//! many connections: for tens of thousands of connections, with the
//! buffer-shaped handler ([`Conn`]).

mod connection;
mod worker;

use super::{Concurrency, Drives, Job, sealed};
use crate::connections::Connections;
use crate::report::emit;
use crate::request::{Conn, ConnState, DatagramRequest, DatagramSocket, Stream};
use crate::selector::Waker;
use crate::service::Service;
use connection::Opening;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
pub(super) use worker::Offload;
use worker::{Inbox, Message, Worker};

/// Serves every connection on a few event loops, one per worker thread
/// (`workers`, default: one per CPU, from
/// [`available_parallelism`](std::thread::available_parallelism)), instead
/// of a thread per connection: an idle connection costs a few hundred bytes,
/// not a thread's stack.
///
/// Its handlers are buffer-shaped ([`Conn`]): called with the bytes received
/// so far, they consume what they use and queue their replies, and must not
/// block (a handler that waits holds up every connection of its loop). A
/// `StreamRequest` handler, which reads and waits for its input itself, does
/// not compile under `Event`. Datagram handlers run on the workers too, one
/// datagram after another on each.
///
/// How a connection is served:
///
/// * **Reading.** When its socket is readable, the loop reads once, into
///   the worker's 64 KiB buffer (or, after a partial message, into the
///   connection's own, up to its input limit), and calls the handler on what
///   came (again while it consumes some and some is left, as under the other
///   models). One read per turn, and a connection with more waiting gets its
///   next turn after every other ready connection has had one: a busy client
///   cannot starve the others. Only unconsumed input and unsent output are
///   kept per connection: an idle connection keeps no buffer.
/// * **Writing.** What the handler queued is written when it returns, as far
///   as the socket takes it; the rest is written when the socket is
///   writable again. Past 256 KiB queued, the loop stops reading from the
///   connection until its client has taken most of it: a client that sends
///   but never reads cannot grow the server's memory.
/// * **Ending.** The handler sees the end of input ([`Input::is_ended`](crate::Input::is_ended))
///   and can still write its last reply; [`Conn::close`] closes once what
///   is queued is sent. A connection whose client neither sends anything
///   nor takes any output for the server's `timeout` is closed (and
///   reported as timed out). An error or a panic in a handler closes that
///   connection only.
/// * **Other connections.** A handler can send to another connection by its
///   [`id`](Conn::id), on whichever worker it is, or to all of them
///   ([`Conn::send_to`], [`Conn::broadcast`]), without waiting: the bytes
///   are queued to it. A connection with 4 MiB
///   queued that is sent more is closed: its client is not reading.
/// * **Datagrams.** Up to 1,024 per worker wait to be served; past that on
///   every worker, the server stops receiving until one has room (they wait
///   in the socket's buffer).
/// * **Sleeping.** A worker with nothing to do sleeps in its selector until
///   input, a hand-off or a timeout wakes it; with [`busy_poll`](Event::busy_poll)
///   it first looks for more work for a while, trading CPU for fewer
///   wake-ups under steady load.
///
/// Closing the server sends what every connection has queued (for up to
/// `shutdown_timeout`), closes every connection, and stops the workers.
///
/// ```no_run
/// use socketserver::{Conn, Event, Server, Tcp, handler_fn};
/// use std::io::Write;
///
/// let echo = handler_fn(|conn: &mut Conn| {
///     let (input, output, _) = conn.parts();
///     output.write_all(input.bytes())?;
///     let n = input.bytes().len();
///     input.consume(n);
///     Ok(())
/// });
/// Server::<Tcp, Event, _>::builder(echo)
///     .workers(4)
///     .bind("127.0.0.1:7000")?
///     .serve_forever()
/// # ; Ok::<(), std::io::Error>(())
/// ```
// One acceptor handing connections to the workers, rather than a listener
// per worker with `SO_REUSEPORT`: the server's one accept loop then keeps
// doing what it does for every model (`max_connections`, `verify_request`,
// pausing on accept errors, stopping), connections go to the least-loaded
// worker rather than where the kernel's hash of the addresses sends them (which
// leaves long connections unevenly spread), and a closing server loses no
// connection still queued on a listener of its own. Measured on the
// 2-core machine (`BENCHMARKS.md`, "event"): the hand-off is one queue push
// and at most one wake-up per batch of connections.
pub struct Event {
    /// `None`: one per CPU.
    workers: Option<usize>,
    /// How long a worker looks for more work before it sleeps.
    busy_poll: Duration,
    handles: Vec<Handle>,
    /// The worker the next datagram goes to.
    next: usize,
}

struct Handle {
    inbox: Arc<Inbox>,
    thread: Option<JoinHandle<()>>,
}

impl Handle {
    /// Runs `worker` on a thread of its own, named `name`.
    fn spawn(name: String, worker: Worker, inbox: Arc<Inbox>) -> io::Result<Handle> {
        let thread = thread::Builder::new()
            .name(name)
            .spawn(move || worker.run())?;
        Ok(Handle {
            inbox,
            thread: Some(thread),
        })
    }

    /// Waits for the worker's loop to end (after a [`Message::Stop`]).
    fn join(&mut self) {
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            emit!(log::Level::Error, "an event loop ended with a panic");
        }
    }
}

/// One event loop that watches the connections of a [`Pool`](crate::Pool)
/// and runs their turns, `setup` and `finish` on the pool's threads
/// ([`Offload`]): a buffer-shaped handler there may block, and a connection
/// waiting for input holds no thread.
pub(super) struct Watcher(Handle);

impl Watcher {
    pub(super) fn start(wake_loop: Waker, offload: Arc<dyn Offload>) -> io::Result<Watcher> {
        let (worker, inbox) = Worker::new(wake_loop, Duration::ZERO, Some(offload))?;
        Ok(Watcher(Handle::spawn(
            "pool-watcher".into(),
            worker,
            inbox,
        )?))
    }

    /// Starts watching the connection of `job`; an error (and the
    /// connection closed) if the loop has ended.
    pub(super) fn open<St, Stm, S>(&self, job: Job<S>) -> io::Result<()>
    where
        St: ConnState,
        Stm: Stream,
        S: Service<Request = Conn<St, Stm>>,
    {
        if !self.0.inbox.is_alive() {
            return Err(io::Error::other(
                "the pool's event loop has ended (see the error logged before): \
                 it serves no more connections",
            ));
        }
        self.0.inbox.push(Message::Open(Box::new(Opening(job))));
        Ok(())
    }

    /// Sends what is queued and closes every connection (by `deadline` at
    /// the latest), once the turns running elsewhere are back; waits.
    pub(super) fn stop(&mut self, deadline: Option<Instant>) {
        self.0.inbox.push(Message::Stop(deadline));
        self.0.join();
    }
}

impl Drop for Watcher {
    /// Stops the loop of a pool that never became a server's.
    fn drop(&mut self) {
        if self.0.thread.is_some() {
            self.stop(Some(Instant::now()));
        }
    }
}

impl Event {
    /// Event loops on one worker thread per CPU.
    pub fn new() -> Event {
        Event {
            workers: None,
            busy_poll: Duration::ZERO,
            handles: Vec::new(),
            next: 0,
        }
    }

    /// Sets the number of worker threads, each running one event loop (at
    /// least 1; binding fails with [`io::ErrorKind::InvalidInput`] for 0).
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Event {
        self.workers = Some(workers);
        self
    }

    /// After a round of work, each worker keeps looking for more, without
    /// sleeping, for up to `time` (default: zero, it sleeps at once).
    ///
    /// A sleeping worker must be woken by the kernel when input comes, and on
    /// a busy server that costs more than the work itself: the client's
    /// write pays for a cross-CPU wake-up, the worker for a context switch.
    /// Polling a few tens of microseconds first lets a server under steady
    /// load go from one batch to the next without sleeping, which raises
    /// requests per second and lowers latency where the clients are the
    /// bottleneck (`BENCHMARKS.md`: 15–20% more requests per second for
    /// `mini_redis` under `redis-benchmark` on 2 cores, at 20 µs). The price
    /// is CPU: up to `time` spent polling after every burst, also when no
    /// more comes, so an idle server stays idle but a lightly loaded one
    /// uses more CPU per request.
    ///
    /// ```
    /// use socketserver::Event;
    /// use std::time::Duration;
    ///
    /// let event = Event::new().busy_poll(Duration::from_micros(50));
    /// # drop(event);
    /// ```
    #[must_use]
    pub fn busy_poll(mut self, time: Duration) -> Event {
        self.busy_poll = time;
        self
    }

    /// The number of worker threads the server runs.
    pub fn worker_count(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    fn not_started() -> io::Error {
        io::Error::other("the event loops are not running (the server has closed)")
    }

    /// The worker with the fewest connections.
    fn least_loaded(&self) -> io::Result<&Arc<Inbox>> {
        self.handles
            .iter()
            .map(|handle| &handle.inbox)
            .filter(|inbox| inbox.is_alive())
            .min_by_key(|inbox| inbox.load())
            .ok_or_else(Event::not_started)
    }

    /// Stops every worker: each sends what is queued (until `deadline`),
    /// closes its connections and ends; waits for them.
    fn stop(&mut self, deadline: Option<Instant>) {
        for handle in &self.handles {
            handle.inbox.push(Message::Stop(deadline));
        }
        for mut handle in self.handles.drain(..) {
            handle.join();
        }
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("workers", &self.worker_count())
            .field("busy_poll", &self.busy_poll)
            .field(
                "connections",
                &self.handles.iter().map(|h| h.inbox.load()).sum::<usize>(),
            )
            .finish()
    }
}

impl sealed::Sealed for Event {}

impl Concurrency for Event {
    fn validate(&self) -> io::Result<()> {
        if self.worker_count() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "event concurrency needs at least one worker (`workers` is 0)",
            ));
        }
        Ok(())
    }

    fn has_capacity(&self) -> bool {
        // Connections are bounded by `max_connections`; datagrams by what
        // the workers have still to serve.
        self.handles
            .iter()
            .any(|handle| handle.inbox.takes_datagrams())
    }

    fn attach(&mut self, wake_loop: Waker) -> io::Result<()> {
        for index in 0..self.worker_count() {
            let (worker, inbox) = Worker::new(wake_loop.clone(), self.busy_poll, None)?;
            self.handles
                .push(Handle::spawn(format!("event-loop-{index}"), worker, inbox)?);
        }
        Ok(())
    }

    fn close(&mut self, connections: &Connections, shutdown_timeout: Duration) {
        self.stop(Instant::now().checked_add(shutdown_timeout));
        // Every connection was on a worker (a datagram's request too), and
        // each worker closed its own before it ended.
        let left = connections.len();
        if left > 0 {
            emit!(
                log::Level::Warn,
                "{left} request(s) still open after the event loops ended"
            );
        }
    }
}

impl Drop for Event {
    /// Stops the workers of an event model that never became a server's.
    fn drop(&mut self) {
        self.stop(Some(Instant::now()));
    }
}

impl<St: ConnState, Stm: Stream> Drives<Conn<St, Stm>> for Event {
    fn process<S: Service<Request = Conn<St, Stm>>>(&mut self, job: Job<S>) -> io::Result<()> {
        self.least_loaded()?
            .push(Message::Open(Box::new(Opening(job))));
        Ok(())
    }
}

impl<D: DatagramSocket> Drives<DatagramRequest<D>> for Event {
    fn process<S: Service<Request = DatagramRequest<D>>>(&mut self, job: Job<S>) -> io::Result<()> {
        // The next worker in turn that has room (the loop receives only
        // while one has).
        let workers = self.handles.len();
        let index = (0..workers)
            .map(|i| (self.next + i) % workers)
            .find(|&i| self.handles[i].inbox.takes_datagrams())
            .ok_or_else(Event::not_started)?;
        self.next = index + 1;
        let job = move || job.run();
        self.handles[index].inbox.push(Message::Run(Box::new(job)));
        Ok(())
    }
}
