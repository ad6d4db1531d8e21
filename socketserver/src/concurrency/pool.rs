//! [`Pool`]: a bounded pool of worker threads with a bounded queue, for
//! back-pressure instead of a thread for every connection.

use super::event::{Offload, Watcher};
use super::{Concurrency, Drives, Job, sealed, wait_for_connections};
use crate::connections::Connections;
use crate::report::{catch_panic, emit};
use crate::request::{Conn, ConnState, DatagramRequest, DatagramSocket, Stream, StreamRequest};
use crate::selector::Waker;
use crate::service::Service;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How many requests may wait for a worker, per worker, unless
/// [`Pool::queue`] says otherwise.
const QUEUE_PER_WORKER: usize = 4;

/// Serves connections on a fixed number of worker threads, with a bounded
/// queue of accepted connections waiting for a worker: back-pressure instead
/// of a thread for every connection.
///
/// * `workers` (default: one per CPU, from
///   [`available_parallelism`](std::thread::available_parallelism)): how many
///   requests are served at once. The threads start as requests come, up to
///   this many, and are kept.
/// * `queue` (default: 4 per worker): how many accepted requests may wait for
///   a worker. Short on purpose: enough that a worker done with a request
///   finds the next one without waiting for the loop, few enough that an
///   accepted client does not wait long with no one serving it (the kernel's
///   backlog is where the rest wait, at no cost to the server).
///
/// The pool holds at most `workers + queue` requests. When it is full, the
/// server stops accepting: further connections wait in the kernel's listen
/// queue (the `backlog`), none is refused or dropped, and the server accepts
/// again as soon as a worker is done with a request. A client may thus be
/// connected (its handshake done by the kernel) long before it is served; give
/// `workers` enough to keep up with the connections a protocol keeps open.
///
/// A buffer-shaped handler ([`Conn`]) is served by turns instead: the
/// pool's connections wait for input on one event loop of its own (the
/// engine of [`Event`](crate::Event)), and each time one has input, its
/// turn (read, call the handler, write) is queued for a worker like a
/// request. A connection holds a worker only while its handler runs, so a
/// pool of 4 serves thousands of mostly idle connections (bound them with
/// `max_connections`), and, unlike under `Event`, a handler may block: it
/// holds up its worker, not the other connections. Turns count in the
/// pool's load, so a pool busy with turns stops the server accepting until
/// a worker is free; `setup` and `finish` run on the workers too.
///
/// ```no_run
/// use socketserver::{Conn, Pool, Server, Tcp, handler_fn};
/// use std::io::Write;
///
/// // Each line is answered after a blocking call (here a sleep; a database
/// // query, a file read): it holds one of the 4 workers for that long, and
/// // the thousands of other connections wait for input on the pool's loop.
/// let slow_upper = handler_fn(|conn: &mut Conn| {
///     let (input, output, _) = conn.parts();
///     while let Some(line) = input.line(1024)? {
///         std::thread::sleep(std::time::Duration::from_millis(10));
///         output.write_all(&line.to_ascii_uppercase())?;
///     }
///     Ok(())
/// });
/// Server::<Tcp, Pool, _>::builder(slow_upper)
///     .workers(4)
///     .max_connections(Some(10_000))
///     .bind("127.0.0.1:7000")?
///     .serve_forever()
/// # ; Ok::<(), std::io::Error>(())
/// ```
///
/// A panic in a handler is reported like an error ([`Job::run`] catches it)
/// and the worker goes on to the next request: the pool never shrinks.
///
/// Closing the server sends what buffer-shaped connections have queued and
/// closes them (idle ones at once, the others after their turn), and waits
/// for the requests running and for those queued
/// (the queued ones are still served); connections still open
/// `shutdown_timeout` after closing began are shut down, so that their
/// handlers see end of input and return, and so is each queued connection a
/// worker takes up after that. Then the workers are stopped and joined.
///
/// ```no_run
/// use socketserver::{PoolTcpServer, StreamRequest, handler_fn};
/// use std::io::Write;
///
/// let hello = handler_fn(|req: &mut StreamRequest| req.wfile().write_all(b"hello\n"));
/// let mut server = PoolTcpServer::builder(hello)
///     .workers(8)
///     .queue(32)
///     .bind("127.0.0.1:8000")?;
/// server.serve_forever()
/// # ; Ok::<(), std::io::Error>(())
/// ```
pub struct Pool {
    workers: usize,
    /// `None`: [`QUEUE_PER_WORKER`] per worker.
    queue: Option<usize>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    /// The loop that watches buffer-shaped connections between their turns:
    /// started with the first.
    watcher: Option<Watcher>,
}

/// What the server loop and the workers share.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a request is queued, and when the workers are to stop.
    work: Condvar,
    /// Requests in the pool: running, and queued.
    load: AtomicUsize,
    /// Wakes the server loop when the pool stops being full.
    wake_loop: OnceLock<Waker>,
}

#[derive(Default)]
struct Queue {
    tasks: VecDeque<Task>,
    /// Workers waiting for a task.
    idle: usize,
    /// Set when the server closes: the workers end once the queue is empty.
    stopping: bool,
}

/// A queued request: [`Job::run`], whatever the service.
type Task = Box<dyn FnOnce() + Send>;

impl Default for Pool {
    fn default() -> Pool {
        Pool::new()
    }
}

impl Pool {
    /// A pool of one worker per CPU, with a queue of 4 requests per worker.
    pub fn new() -> Pool {
        Pool {
            workers: thread::available_parallelism().map_or(1, NonZeroUsize::get),
            queue: None,
            threads: Vec::new(),
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                work: Condvar::new(),
                load: AtomicUsize::new(0),
                wake_loop: OnceLock::new(),
            }),
            watcher: None,
        }
    }

    /// How many worker threads serve requests at once (default: one per
    /// CPU). Binding fails with [`io::ErrorKind::InvalidInput`] for 0.
    pub fn workers(mut self, workers: usize) -> Pool {
        self.workers = workers;
        self
    }

    /// How many accepted requests may wait for a worker (default: 4 per
    /// worker); beyond them, connections wait in the kernel's listen queue.
    /// Binding fails with [`io::ErrorKind::InvalidInput`] for 0.
    pub fn queue(mut self, queue: usize) -> Pool {
        self.queue = Some(queue);
        self
    }

    /// How many worker threads are running: they start as requests come, up
    /// to `workers`, and stay until the server closes.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    fn queue_len(&self) -> usize {
        self.queue
            .unwrap_or_else(|| self.workers.saturating_mul(QUEUE_PER_WORKER))
    }

    /// The most requests the pool holds: running, and waiting.
    fn limit(&self) -> usize {
        self.workers.saturating_add(self.queue_len())
    }

    /// Starts workers until every request in the pool has one, up to
    /// `workers`. An error only if none runs.
    fn top_up(&mut self) -> io::Result<()> {
        self.start_workers(self.workers.min(self.shared.load.load(Ordering::Acquire)))
    }

    /// Starts workers until `wanted` run. An error only if none runs.
    fn start_workers(&mut self, wanted: usize) -> io::Result<()> {
        while self.threads.len() < wanted {
            let shared = Arc::clone(&self.shared);
            let limit = self.limit();
            let spawned = thread::Builder::new()
                .name("socketserver-worker".into())
                .spawn(move || work(&shared, limit));
            match spawned {
                Ok(thread) => self.threads.push(thread),
                Err(e) if self.threads.is_empty() => return Err(e),
                Err(e) => {
                    emit!(
                        log::Level::Warn,
                        "cannot start another worker thread ({e}); the pool goes on with {}",
                        self.threads.len()
                    );
                    break;
                }
            }
        }
        Ok(())
    }

    /// Tells the workers to end once the queue is empty.
    fn stop(&self) {
        self.shared.lock().stopping = true;
        self.shared.work.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock, and the queue is consistent
        // after every statement anyway.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `task` for a worker (the caller counted it in `load`).
    fn push(&self, task: Task) {
        let mut queue = self.lock();
        queue.tasks.push_back(task);
        // A notification is a system call even when no worker waits.
        let idle = queue.idle > 0;
        drop(queue);
        if idle {
            self.work.notify_one();
        }
    }
}

/// The turns of buffer-shaped connections, from the loop that watches them:
/// queued as requests are, and counted in the pool's load, so that a pool
/// busy with turns stops the server accepting.
impl Offload for Shared {
    fn offload(&self, task: Task) {
        self.load.fetch_add(1, Ordering::AcqRel);
        self.push(task);
    }
}

/// A worker: serves queued requests until the pool stops.
fn work(shared: &Shared, limit: usize) {
    loop {
        let task = {
            let mut queue = shared.lock();
            loop {
                if let Some(task) = queue.tasks.pop_front() {
                    break task;
                }
                if queue.stopping {
                    return;
                }
                queue.idle += 1;
                queue = shared
                    .work
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                queue.idle -= 1;
            }
        };
        // `Job::run` catches every panic of the service; this is so that
        // nothing can end the worker all the same.
        if let Err(panic) = catch_panic(AssertUnwindSafe(task)) {
            emit!(log::Level::Error, "a request {panic}; the worker goes on");
        }
        // From full to not: the loop stopped accepting, and may again.
        if shared.load.fetch_sub(1, Ordering::AcqRel) >= limit
            && let Some(waker) = shared.wake_loop.get()
            && let Err(e) = waker.wake()
        {
            emit!(
                log::Level::Error,
                "cannot wake the server loop ({e}); it accepts again within its poll_interval"
            );
        }
    }
}

impl sealed::Sealed for Pool {}

impl Pool {
    /// Queues `job` for a worker, which runs it to the end.
    fn queue_job<S: Service>(&mut self, job: Job<S>) -> io::Result<()> {
        self.shared.load.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.top_up() {
            self.shared.load.fetch_sub(1, Ordering::AcqRel);
            return Err(e);
        }
        self.shared.push(Box::new(move || job.run()));
        Ok(())
    }
}

/// A stream handler holds a worker for its whole connection.
impl<Stm: Stream> Drives<StreamRequest<Stm>> for Pool {
    fn process<S: Service<Request = StreamRequest<Stm>>>(&mut self, job: Job<S>) -> io::Result<()> {
        self.queue_job(job)
    }
}

impl<D: DatagramSocket> Drives<DatagramRequest<D>> for Pool {
    fn process<S: Service<Request = DatagramRequest<D>>>(&mut self, job: Job<S>) -> io::Result<()> {
        self.queue_job(job)
    }
}

/// A buffer-shaped connection holds a worker only for its turns: between
/// them it waits for input on the pool's loop (see [`Pool`]).
impl<St: ConnState, Stm: Stream> Drives<Conn<St, Stm>> for Pool {
    fn process<S: Service<Request = Conn<St, Stm>>>(&mut self, job: Job<S>) -> io::Result<()> {
        if self.watcher.is_none() {
            let wake_loop = self
                .shared
                .wake_loop
                .get()
                .cloned()
                .ok_or_else(|| io::Error::other("the pool is not attached to a server"))?;
            // Turns come from the loop's thread, which cannot start workers:
            // all of them now.
            self.start_workers(self.workers)?;
            let offload: Arc<dyn Offload> = self.shared.clone();
            self.watcher = Some(Watcher::start(wake_loop, offload)?);
        }
        match &self.watcher {
            Some(watcher) => watcher.open(job),
            None => Ok(()),
        }
    }
}

impl Concurrency for Pool {
    fn has_capacity(&self) -> bool {
        self.shared.load.load(Ordering::Acquire) < self.limit()
    }

    fn attach(&mut self, wake_loop: Waker) -> io::Result<()> {
        let _ = self.shared.wake_loop.set(wake_loop);
        Ok(())
    }

    fn validate(&self) -> io::Result<()> {
        let invalid = |what: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        if self.workers == 0 {
            return invalid("a pool needs at least one worker (`workers` is 0)");
        }
        if self.queue == Some(0) {
            return invalid("the pool's `queue` must hold at least one request (it is 0)");
        }
        Ok(())
    }

    fn service_actions(&mut self) {
        // Workers end only when the pool stops; one that ended all the same is
        // replaced, so that the pool never shrinks.
        self.threads.retain(|t| !t.is_finished());
        if let Err(e) = self.top_up() {
            emit!(log::Level::Error, "cannot start a worker thread: {e}");
        }
    }

    fn close(&mut self, connections: &Connections, shutdown_timeout: Duration) {
        self.service_actions();
        let began = Instant::now();
        // Its connections' last turns and `finish` run on the workers: first,
        // within the same timeout as the rest.
        if let Some(mut watcher) = self.watcher.take() {
            watcher.stop(began.checked_add(shutdown_timeout));
        }
        if self.threads.is_empty() {
            // No worker could be started: the queued requests are closed
            // unserved rather than waited for forever.
            let unserved = std::mem::take(&mut self.shared.lock().tasks);
            if !unserved.is_empty() {
                emit!(
                    log::Level::Error,
                    "closing {} queued connection(s) unserved: the pool has no worker",
                    unserved.len()
                );
            }
        }
        // Queued requests hold their place in `connections`, so this waits
        // for them too; those a worker takes up after the timeout are shut
        // down at once.
        wait_for_connections(connections, shutdown_timeout, began);
        self.stop();
        for thread in self.threads.drain(..) {
            // The worker catches every panic, so a join error cannot carry one.
            let _ = thread.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // After `close` this finds no worker; otherwise (a pool dropped with
        // its server never made) the workers must not wait for ever.
        drop(self.watcher.take());
        self.stop();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers)
            .field("queue", &self.queue_len())
            .field("threads", &self.threads.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn task(pool: &mut Pool, f: impl FnOnce() + Send + 'static) {
        pool.shared.load.fetch_add(1, Ordering::AcqRel);
        pool.top_up().unwrap();
        pool.shared.lock().tasks.push_back(Box::new(f));
        pool.shared.work.notify_one();
    }

    #[test]
    fn defaults_follow_the_cpus() {
        let pool = Pool::new();
        assert!(pool.workers >= 1);
        assert_eq!(pool.queue_len(), 4 * pool.workers);
        assert_eq!(Pool::new().workers(3).queue_len(), 12);
        assert_eq!(Pool::new().workers(3).queue(1).limit(), 4);
        assert!(Pool::new().validate().is_ok());
        assert!(Pool::new().workers(0).validate().is_err());
        assert!(Pool::new().queue(0).validate().is_err());
    }

    #[test]
    fn workers_start_as_requests_come_up_to_the_bound() {
        let mut pool = Pool::new().workers(2).queue(8);
        assert_eq!(pool.threads(), 0);
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (started, starts) = mpsc::channel();
        for _ in 0..5 {
            let gate = Arc::clone(&gate);
            let started = started.clone();
            task(&mut pool, move || {
                started.send(()).unwrap();
                let _ = gate.lock().unwrap().recv();
            });
        }
        assert_eq!(pool.threads(), 2);
        starts.recv().unwrap();
        assert!(pool.has_capacity(), "5 of 10");
        drop(release);
        for _ in 0..4 {
            starts.recv().unwrap();
        }
        pool.close(&Connections::default(), Duration::from_secs(1));
        assert_eq!(pool.threads(), 0);
        assert_eq!(pool.shared.load.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_panic_that_escapes_a_task_does_not_end_its_worker() {
        let mut pool = Pool::new().workers(1).queue(4);
        task(&mut pool, || panic!("not caught by a job"));
        let (done, finished) = mpsc::channel();
        task(&mut pool, move || {
            done.send(thread::current().id()).unwrap()
        });
        let worker = finished.recv().unwrap();
        assert_eq!(pool.threads(), 1);
        assert!(!pool.threads[0].is_finished());
        assert_eq!(worker, pool.threads[0].thread().id());
        pool.close(&Connections::default(), Duration::from_secs(1));
    }

    #[test]
    fn full_means_workers_plus_queue() {
        let mut pool = Pool::new().workers(1).queue(1);
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        for _ in 0..2 {
            let gate = Arc::clone(&gate);
            task(&mut pool, move || {
                let _ = gate.lock().unwrap().recv();
            });
        }
        assert!(!pool.has_capacity());
        drop(release);
        pool.close(&Connections::default(), Duration::from_secs(1));
        assert!(pool.has_capacity());
    }
}
