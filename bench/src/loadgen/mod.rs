//! The load generator behind the `loadgen` binary: echo round trips, the
//! short-connection rate, UDP round trips and idle connections, driven by
//! several threads each with its own `mio` poll, so that the client is not the
//! bottleneck at 10,000 connections.
//!
//! ```text
//! loadgen --addr HOST:PORT [--mode echo|connect|udp|idle] [--connections N]
//!         [--threads T] [--size BYTES] [--warmup SECS] [--duration SECS]
//!         [--connect-timeout SECS] [--udp-timeout-ms MS]
//! ```
//!
//! How a run goes: the `N` connections (or sockets, or workers) are split as
//! evenly as can be over `T` threads (never more threads than connections).
//! Each thread opens its share (echo and idle modes: connect plus one echo
//! round trip each, at most [`SETUP_WINDOW`] in progress per thread, so that
//! the server's accept queue never overflows), then all start together: the
//! warm-up, whose replies are checked but not counted, then the measured
//! `duration`. Every reply is checked byte for byte against its request, whose
//! content differs from request to request and connection to connection. The
//! result is one JSON line ([`Report::to_json`]).

mod histogram;
mod tcp;
mod udp;

pub use histogram::Histogram;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Connections a thread has in progress (connecting or waiting for their
/// first echo) while it opens its share, in echo and idle modes.
pub const SETUP_WINDOW: usize = 32;

/// What the load generator does with its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// TCP round trips, one request in flight per connection.
    Echo,
    /// Short connections: connect, send, read the echo, close, again.
    Connect,
    /// UDP round trips, one datagram in flight per socket.
    Udp,
    /// Open connections, one echo each, then hold them silent.
    Idle,
}

impl Mode {
    /// Its name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Echo => "echo",
            Mode::Connect => "connect",
            Mode::Udp => "udp",
            Mode::Idle => "idle",
        }
    }
}

/// A run's parameters (see the module's documentation for the flags).
#[derive(Clone, Debug)]
pub struct Config {
    /// The server.
    pub addr: SocketAddr,
    /// What to do.
    pub mode: Mode,
    /// Concurrent connections, sockets or workers.
    pub connections: usize,
    /// Threads (each with its own poll); at most `connections` are used.
    pub threads: usize,
    /// Bytes per request (and per reply).
    pub size: usize,
    /// Time before the measurement, whose replies are checked but not counted.
    pub warmup: Duration,
    /// The measurement (idle mode: how long the connections are held).
    pub duration: Duration,
    /// How long opening the connections may take, in all (echo and idle).
    pub connect_timeout: Duration,
    /// After how long a UDP request without reply counts as lost.
    pub udp_timeout: Duration,
}

/// The usage line.
pub const USAGE: &str = "usage: loadgen --addr HOST:PORT [--mode echo|connect|udp|idle] \
[--connections N] [--threads T] [--size BYTES] [--warmup SECS] [--duration SECS] \
[--connect-timeout SECS] [--udp-timeout-ms MS]";

impl Config {
    /// Reads the flags (`--flag value` or `--flag=value`); defaults: echo
    /// mode, 1 connection, one thread per CPU, 64 bytes, 1 s of warm-up, 5 s
    /// measured, 10 s to connect, 100 ms for a UDP reply.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Config, String> {
        let mut addr = None;
        let mut config = Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            mode: Mode::Echo,
            connections: 1,
            threads: thread::available_parallelism().map_or(1, |n| n.get()),
            size: 64,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            udp_timeout: Duration::from_millis(100),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg, None),
            };
            if flag == "-h" || flag == "--help" {
                return Err(USAGE.to_owned());
            }
            let value = match inline.or_else(|| args.next()) {
                Some(value) => value,
                None => return Err(format!("{flag} needs a value\n{USAGE}")),
            };
            let bad = |what: &str| format!("{flag} {value:?}: {what}\n{USAGE}");
            match flag.as_str() {
                "--addr" => {
                    let resolved = value
                        .to_socket_addrs()
                        .map_err(|e| bad(&e.to_string()))?
                        .next()
                        .ok_or_else(|| bad("no address"))?;
                    addr = Some(resolved);
                }
                "--mode" => {
                    config.mode = match value.as_str() {
                        "echo" => Mode::Echo,
                        "connect" => Mode::Connect,
                        "udp" => Mode::Udp,
                        "idle" => Mode::Idle,
                        _ => return Err(bad("expected echo, connect, udp or idle")),
                    }
                }
                "--connections" => {
                    config.connections =
                        positive(&value).ok_or_else(|| bad("expected a count ≥ 1"))?
                }
                "--threads" => {
                    config.threads = positive(&value).ok_or_else(|| bad("expected a count ≥ 1"))?
                }
                "--size" => {
                    config.size = positive(&value).ok_or_else(|| bad("expected a size ≥ 1"))?
                }
                "--warmup" => {
                    config.warmup = seconds(&value).ok_or_else(|| bad("expected seconds"))?
                }
                "--duration" => {
                    config.duration = seconds(&value).ok_or_else(|| bad("expected seconds"))?
                }
                "--connect-timeout" => {
                    config.connect_timeout =
                        seconds(&value).ok_or_else(|| bad("expected seconds"))?
                }
                "--udp-timeout-ms" => {
                    config.udp_timeout = seconds(&value)
                        .map(|d| d / 1000)
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| bad("expected milliseconds > 0"))?
                }
                _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
            }
        }
        config.addr = addr.ok_or_else(|| format!("--addr is required\n{USAGE}"))?;
        if config.mode == Mode::Udp && config.size > 65_507 {
            return Err(format!(
                "a UDP datagram holds at most 65507 bytes, not {}",
                config.size
            ));
        }
        config.threads = config.threads.min(config.connections);
        Ok(config)
    }
}

fn positive(value: &str) -> Option<usize> {
    value.parse().ok().filter(|&n| n > 0)
}

fn seconds(value: &str) -> Option<Duration> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// What a run measured.
#[derive(Clone)]
pub struct Report {
    /// The run's parameters.
    pub config: Config,
    /// Latencies (nanoseconds) of the requests counted: echo and UDP, one
    /// round trip; connect, connect to the echo's last byte; idle, connect to
    /// the first echo's last byte.
    pub latency: Histogram,
    /// Requests completed and checked in the measured time (idle: the
    /// connections that made their echo).
    pub requests: u64,
    /// Resets, short reads, mismatched replies and other failures once the
    /// connections were open (from the warm-up on).
    pub errors: u64,
    /// UDP requests whose reply did not come within the timeout.
    pub lost: u64,
    /// Connections that could not be opened (echo, idle) or UDP sockets that
    /// could not be set up.
    pub connect_errors: u64,
    /// Idle mode: connections still open at the end.
    pub open: u64,
}

impl Report {
    /// Requests per second of measured time.
    pub fn rps(&self) -> f64 {
        let seconds = self.config.duration.as_secs_f64();
        if seconds > 0.0 {
            self.requests as f64 / seconds
        } else {
            0.0
        }
    }

    /// The one JSON line: `mode`, `connections`, `threads`, `size`,
    /// `duration_s`, `requests`, `rps`, `p50_us`, `p99_us`, `p999_us`,
    /// `errors`, `lost`, then `max_us`, `connect_errors`, and in idle mode
    /// `open`.
    pub fn to_json(&self) -> String {
        let us = |ns: u64| ns as f64 / 1000.0;
        let c = &self.config;
        let mut line = format!(
            "{{\"mode\":\"{}\",\"connections\":{},\"threads\":{},\"size\":{},\"duration_s\":{},\
             \"requests\":{},\"rps\":{:.1},\"p50_us\":{:.1},\"p99_us\":{:.1},\"p999_us\":{:.1},\
             \"errors\":{},\"lost\":{},\"max_us\":{:.1},\"connect_errors\":{}",
            c.mode.name(),
            c.connections,
            c.threads,
            c.size,
            c.duration.as_secs_f64(),
            self.requests,
            self.rps(),
            us(self.latency.quantile(0.50)),
            us(self.latency.quantile(0.99)),
            us(self.latency.quantile(0.999)),
            self.errors,
            self.lost,
            us(self.latency.max()),
            self.connect_errors,
        );
        if c.mode == Mode::Idle {
            line += &format!(",\"open\":{}", self.open);
        }
        line.push('}');
        line
    }
}

/// Why a run could not be made.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Runs the load described by `config` and returns what it measured; fails if
/// the server cannot be reached at all, or if the connections cannot be
/// opened for want of file descriptors.
pub fn run(config: &Config) -> Result<Report, Error> {
    if config.mode != Mode::Udp {
        // One blocking connection first: an unreachable server fails at once,
        // with its own error, rather than as N connect failures.
        TcpStream::connect_timeout(&config.addr, config.connect_timeout)
            .map_err(|e| Error(format!("cannot connect to {}: {e}", config.addr)))?;
    }
    FD_LIMITS.get_or_init(read_fd_limits);
    let gate = Arc::new(Gate::default());
    let (setup_tx, setup_rx) = mpsc::channel();
    let mut handles = Vec::with_capacity(config.threads);
    let mut first_id = 0;
    for t in 0..config.threads {
        let count = config.connections / config.threads
            + usize::from(t < config.connections % config.threads);
        let work = Work {
            config: config.clone(),
            first_id: first_id as u64,
            count,
            gate: Arc::clone(&gate),
            setup: setup_tx.clone(),
        };
        first_id += count;
        let handle = thread::Builder::new()
            .name(format!("loadgen-{t}"))
            .spawn(move || match work.config.mode {
                Mode::Udp => udp::run(work),
                _ => tcp::run(work),
            })
            .map_err(|e| Error(format!("cannot start a thread: {e}")))?;
        handles.push(handle);
    }
    drop(setup_tx);

    // Every thread reports how its setup went, then waits at the gate.
    let mut established = 0;
    let mut connect_errors = 0;
    let mut first_failure = None;
    let mut fatal = None;
    let mut reported = 0;
    while reported < handles.len() {
        match setup_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(setup) => {
                reported += 1;
                established += setup.established;
                connect_errors += setup.failed;
                first_failure = first_failure.or(setup.first_failure);
                fatal = fatal.or(setup.fatal);
            }
            // A thread that ends before the gate opens has failed.
            Err(_) if handles.iter().any(|h| h.is_finished()) => {
                fatal = fatal.or(Some("a load thread ended early".to_owned()));
                break;
            }
            Err(_) => {}
        }
    }
    let first_failure = first_failure.unwrap_or_default();
    // (Connect mode opens nothing before the start.)
    if fatal.is_none() && established == 0 && config.mode != Mode::Connect {
        fatal = Some(format!(
            "could not open any of {} connections to {}: {first_failure}",
            config.connections, config.addr
        ));
    }
    if let Some(message) = fatal {
        gate.set(Phase::Abort);
        for handle in handles {
            let _ = handle.join();
        }
        return Err(Error(message));
    }
    if connect_errors > 0 {
        eprintln!(
            "loadgen: {connect_errors} of {} connections could not be opened (first: {first_failure})",
            config.connections
        );
    }
    if config.mode == Mode::Idle {
        eprintln!("idle: {established} connections open");
    }
    gate.set(Phase::Go(Instant::now()));

    let mut report = Report {
        config: config.clone(),
        latency: Histogram::new(),
        requests: 0,
        errors: 0,
        lost: 0,
        connect_errors,
        open: 0,
    };
    for handle in handles {
        let result = handle
            .join()
            .map_err(|_| Error("a load thread panicked".to_owned()))?
            .map_err(Error)?;
        report.latency.merge(&result.latency);
        report.requests += result.requests;
        report.errors += result.errors;
        report.lost += result.lost;
        report.open += result.open;
    }
    Ok(report)
}

/// One thread's share of the run.
struct Work {
    config: Config,
    /// The number of its first connection, among all threads' (for the
    /// request contents).
    first_id: u64,
    /// How many connections it drives.
    count: usize,
    gate: Arc<Gate>,
    setup: mpsc::Sender<Setup>,
}

impl Work {
    /// Reports the setup and waits for the start: `None` if the run is
    /// called off.
    fn ready(&self, setup: Setup) -> Option<Instant> {
        let _ = self.setup.send(setup);
        self.gate.wait()
    }
}

/// How a thread's setup went.
#[derive(Default)]
struct Setup {
    established: u64,
    failed: u64,
    first_failure: Option<String>,
    /// Why the whole run must stop (no file descriptors left).
    fatal: Option<String>,
}

/// What a thread measured.
struct Measured {
    latency: Histogram,
    requests: u64,
    errors: u64,
    lost: u64,
    open: u64,
}

impl Measured {
    fn new() -> Measured {
        Measured {
            latency: Histogram::new(),
            requests: 0,
            errors: 0,
            lost: 0,
            open: 0,
        }
    }
}

#[derive(Clone, Copy)]
enum Phase {
    Setup,
    Go(Instant),
    Abort,
}

/// Where the threads wait for the start, all together.
struct Gate {
    phase: Mutex<Phase>,
    changed: Condvar,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            phase: Mutex::new(Phase::Setup),
            changed: Condvar::new(),
        }
    }
}

impl Gate {
    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = phase;
        self.changed.notify_all();
    }

    fn wait(&self) -> Option<Instant> {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match *phase {
                Phase::Setup => phase = self.changed.wait(phase).unwrap_or_else(|e| e.into_inner()),
                Phase::Go(start) => return Some(start),
                Phase::Abort => return None,
            }
        }
    }
}

/// Fills `buf` with the request contents for request `seq` of connection
/// `id`: a different pseudo-random pattern for each pair, so that a stale,
/// misrouted or shifted reply does not compare equal.
fn fill(buf: &mut [u8], id: u64, seq: u64) {
    let mut x = id
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(seq.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    for chunk in buf.chunks_mut(8) {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
}

/// Whether `e` means that this process has no file descriptor left.
fn out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE (process limit) and ENFILE (system limit) on Linux.
    matches!(e.raw_os_error(), Some(24) | Some(23))
}

/// The open-file limits, read before any socket is opened (reading them
/// takes a descriptor too).
static FD_LIMITS: OnceLock<String> = OnceLock::new();

fn read_fd_limits() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some(format!(
                " (soft limit {}, hard limit {})",
                fields.get(3)?,
                fields.get(4)?
            ))
        })
        .unwrap_or_default()
}

/// The message for a socket that could not be created for want of
/// descriptors, `wanted` sockets in all.
fn descriptors_message(wanted: usize, e: &io::Error) -> String {
    let limits = FD_LIMITS.get().map_or("", String::as_str);
    format!(
        "cannot open {wanted} sockets: {e}; the open-file limit is too low{limits}: \
         raise it with `ulimit -n`"
    )
}

static MISMATCH_REPORTED: AtomicBool = AtomicBool::new(false);
static FAILURE_REPORTED: AtomicBool = AtomicBool::new(false);

/// Says on standard error, the first time only, that a reply differed from
/// its request.
fn report_mismatch(message: fmt::Arguments<'_>) {
    if !MISMATCH_REPORTED.swap(true, Ordering::Relaxed) {
        eprintln!("loadgen: wrong reply: {message} (reported once; counted in errors)");
    }
}

/// Says on standard error, the first time only, that a connection failed.
fn report_failure(message: fmt::Arguments<'_>) {
    if !FAILURE_REPORTED.swap(true, Ordering::Relaxed) {
        eprintln!("loadgen: {message} (first failure; all are counted in errors)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str) -> Result<Config, String> {
        Config::from_args(args.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn flags_and_defaults() {
        let c = parse(
            "--addr 127.0.0.1:7 --mode=udp --connections 3 --threads 8 --warmup 0 --duration 0.3",
        )
        .unwrap();
        assert_eq!(c.addr, "127.0.0.1:7".parse().unwrap());
        assert_eq!(c.mode, Mode::Udp);
        assert_eq!((c.connections, c.threads, c.size), (3, 3, 64));
        assert_eq!(c.warmup, Duration::ZERO);
        assert_eq!(c.duration, Duration::from_millis(300));
        assert!(
            parse("--mode echo")
                .unwrap_err()
                .contains("--addr is required")
        );
        assert!(parse("--addr 127.0.0.1:7 --size 0").is_err());
        assert!(parse("--addr 127.0.0.1:7 --mode udp --size 70000").is_err());
        assert!(parse("--addr 127.0.0.1:7 --bogus 1").is_err());
        assert!(parse("--addr").is_err());
    }

    #[test]
    fn contents_differ_by_connection_and_request() {
        let mut a = [0; 13];
        let mut b = [0; 13];
        fill(&mut a, 1, 1);
        fill(&mut b, 1, 2);
        assert_ne!(a, b);
        fill(&mut b, 2, 1);
        assert_ne!(a, b);
        fill(&mut b, 1, 1);
        assert_eq!(a, b);
    }
}
