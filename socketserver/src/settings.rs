//! [`Settings`]: what every server has, whatever its transport and
//! concurrency model.

use crate::request::RequestConfig;
use std::io;
use std::time::Duration;

/// Settings that hold for every transport and concurrency model.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) poll_interval: Duration,
    pub(crate) accept_timeout: Option<Duration>,
    pub(crate) shutdown_timeout: Duration,
    /// Open connections at most (`Builder::max_connections`).
    pub(crate) max_connections: Option<usize>,
    pub(crate) request: RequestConfig,
}

impl Settings {
    /// Rejects what the socket layer would take for something else: to
    /// `setsockopt`, a zero timeout means "no timeout", and std refuses it.
    pub(crate) fn validate(&self) -> io::Result<()> {
        if self.request.timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the per-connection `timeout` must be above zero (`None` waits forever)",
            ));
        }
        if self.max_connections == Some(0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "`max_connections` must be at least 1 (`None` sets no limit)",
            ));
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            poll_interval: Duration::from_millis(500),
            accept_timeout: None,
            shutdown_timeout: Duration::from_secs(5),
            max_connections: None,
            request: RequestConfig::default(),
        }
    }
}
