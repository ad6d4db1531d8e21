//! Every unit a duration key takes, with fractions and spaces, and durations
//! of several parts.

use socketserver::{StreamRequest, handle, server};
use std::io;

#[server(timeout = "250ns", poll_interval = "10us", shutdown_timeout = "1h")]
struct Small;

#[server(timeout = "2.5m", poll_interval = "0.5s", shutdown_timeout = " 7 s ")]
struct Large;

#[server(timeout = "3µs", poll_interval = "1500ms", shutdown_timeout = "1.25h")]
struct Mixed;

#[server(
    timeout = "1m30s",
    poll_interval = "1s 500ms",
    shutdown_timeout = "1h 30m"
)]
struct Compound;

impl Small {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

impl Large {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

impl Mixed {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

impl Compound {
    #[handle]
    fn handle(&self, _req: &mut StreamRequest) -> io::Result<()> {
        Ok(())
    }
}

fn check(settings: String, expected: &[&str]) {
    for expected in expected {
        assert!(settings.contains(expected), "no `{expected}` in {settings}");
    }
}

fn main() {
    check(
        format!("{:?}", Small.builder()),
        &[
            "timeout: Some(250ns)",
            "poll_interval: 10µs",
            "shutdown_timeout: 3600s",
        ],
    );
    check(
        format!("{:?}", Large.builder()),
        &[
            "timeout: Some(150s)",
            "poll_interval: 500ms",
            "shutdown_timeout: 7s",
        ],
    );
    check(
        format!("{:?}", Mixed.builder()),
        &[
            "timeout: Some(3µs)",
            "poll_interval: 1.5s",
            "shutdown_timeout: 4500s",
        ],
    );
    check(
        format!("{:?}", Compound.builder()),
        &[
            "timeout: Some(90s)",
            "poll_interval: 1.5s",
            "shutdown_timeout: 5400s",
        ],
    );
}
