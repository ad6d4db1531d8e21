//! [`Threading`]: a thread per connection, Python's `ThreadingMixIn`.

use super::{Concurrency, Job, sealed, wait_for_connections};
use crate::connections::Connections;
use crate::service::Service;
use std::io;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How many finished threads may pile up before they are reaped, at least.
const REAP_AT_LEAST: usize = 64;

/// Serves each connection on a thread of its own (Python's `ThreadingMixIn`).
///
/// * `block_on_close` (default `true`): closing the server waits for every
///   handler thread; connections still open `shutdown_timeout` after closing
///   began are shut down, so that their handlers see end of input and return.
/// * `daemon_threads` (default `false`): closing the server does not wait for
///   handler threads (in Rust, a process ends when `main` returns whatever its
///   other threads do, so this is all Python's daemon threads amount to).
///
/// Finished threads are reaped as the server goes, so a long-running server
/// holds no handles of threads that have ended. For a bound on the number of
/// threads, use a worker pool instead.
#[derive(Debug)]
pub struct Threading {
    daemon_threads: bool,
    block_on_close: bool,
    threads: Vec<JoinHandle<()>>,
    reap_at: usize,
}

impl Default for Threading {
    fn default() -> Threading {
        Threading {
            daemon_threads: false,
            block_on_close: true,
            threads: Vec::new(),
            reap_at: REAP_AT_LEAST,
        }
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
    /// ones, and those that ended since the last reaping (reaping happens on
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

impl Concurrency for Threading {
    fn process<S: Service>(&mut self, job: Job<S>) -> io::Result<()> {
        let thread = thread::Builder::new()
            .name("socketserver-request".into())
            .spawn(move || job.run())?;
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

    fn service_actions(&mut self) {
        self.reap();
    }

    fn close(&mut self, connections: &Connections, shutdown_timeout: Duration) {
        if !self.waits_on_close() {
            self.threads.clear();
            return;
        }
        wait_for_connections(connections, shutdown_timeout);
        for thread in self.threads.drain(..) {
            // `Job::run` catches panics, so a join error cannot carry one of ours.
            let _ = thread.join();
        }
    }
}
