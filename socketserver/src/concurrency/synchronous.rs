//! [`Synchronous`]: one request at a time, in the server loop.

use super::{Concurrency, Drives, Job, sealed};
use crate::connections::Connections;
use crate::request::Request;
use crate::service::Service;
use std::io;
use std::time::Duration;

/// Serves one request at a time, on the thread of the server loop (Python's
/// `TCPServer` without a mixin). The next connection is accepted when the
/// current handler has returned.
///
/// Simple and predictable, for tests and for protocols with short requests; a
/// client that keeps its connection open holds up every other one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Synchronous;

impl sealed::Sealed for Synchronous {}

impl<R: Request> Drives<R> for Synchronous {
    fn process<S: Service<Request = R>>(&mut self, job: Job<S>) -> io::Result<()> {
        job.run();
        Ok(())
    }
}

impl Concurrency for Synchronous {
    fn close(&mut self, _connections: &Connections, _shutdown_timeout: Duration) {
        // Every request ran to its end inside `process`.
    }
}
