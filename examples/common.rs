//! What the example servers share: the command-line options common to all of
//! them, logging, and a serving loop that stops cleanly on SIGINT and SIGTERM
//! (`Server::shutdown_on_signals`).
//!
//! Each example includes this file with `#[path = "common.rs"] mod common;`; it
//! is not an example of its own.

use clap::{Args, ValueEnum};
use socketserver::{
    BindAddr, Builder, Drives, Event, Forking, Pool, Service, Synchronous, Threading, Yields,
};
use std::io;
use std::process::ExitCode;
use std::time::Duration;

/// How long a stopping server waits for its open connections before it shuts
/// them down, so that idle clients cannot hold it for long.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// How connections are served, chosen with `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One connection at a time, in the server loop: the next client waits
    /// until the current one has disconnected.
    Sync,
    /// A thread per connection.
    Threading,
    /// A child process per connection, at most 40 at once; further clients
    /// wait to be accepted.
    Forking,
    /// A pool of worker threads, one per CPU. A buffer-shaped handler's
    /// connections wait for input on one event loop and hold a worker only
    /// while it handles what came; any other connection holds one throughout,
    /// with a queue of 4 connections per worker, and when both are full,
    /// further clients wait to be accepted.
    Pool,
    /// Event loops, one per CPU, each serving many connections as their
    /// input comes (only for an example whose handler is buffer-shaped).
    Event,
}

/// The options every example server takes besides `--addr`.
#[derive(Args, Clone, Debug)]
pub struct Options {
    /// How connections are served.
    #[arg(long, value_enum, default_value_t = Mode::Threading)]
    pub mode: Mode,

    /// Close a connection whose client stays silent (or does not read its
    /// replies) for this many seconds; fractions allowed. Default: no limit.
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = parse_seconds,
        allow_negative_numbers = true
    )]
    pub timeout: Option<Duration>,

    /// Under `--mode event`: after a round of work, each event loop looks for
    /// more for this many microseconds before it sleeps (fewer wake-ups
    /// under steady load, for more CPU). Default: it sleeps at once.
    #[arg(long, value_name = "MICROS", default_value_t = 0)]
    pub busy_poll: u64,
}

/// Parses a positive number of seconds, such as `30` or `0.5`.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| "expected a number of seconds, such as 30 or 0.5".to_owned())?;
    let duration = Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("the timeout must be more than zero".to_owned());
    }
    Ok(duration)
}

/// Sends log records to standard error, at `info` level and above unless
/// `RUST_LOG` says otherwise (e.g. `RUST_LOG=debug` to see every connection).
pub fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
}

/// Serves on `addr` until SIGINT or SIGTERM, then stops cleanly. `builder` is
/// the server as its `#[server]` attribute configured it (a thread per
/// connection); `--mode sync`, `--mode forking` or `--mode pool` swaps in
/// another model at run time. Logs `listening on <addr>` (the real address,
/// also when the port asked for was 0) once the server accepts connections,
/// and `stopped` at the end.
///
/// Returns the process's exit status: success after a clean stop, failure
/// (after logging why) when the server could not start or its loop failed.
pub fn serve<T, S>(addr: &str, options: &Options, builder: Builder<T, Threading, S>) -> ExitCode
where
    T: Yields<S::Request>,
    S: Service,
    Pool: Drives<S::Request>,
    for<'a> &'a str: BindAddr<T>,
{
    serve_then_stop(addr, options, builder, |_| {})
}

/// [`serve`], calling `stop` with the service once the server has stopped
/// accepting and before it waits for the connections still open: for a
/// service whose handlers wait on something of their own (a program, in
/// `command`), to cut that short.
pub fn serve_then_stop<T, S>(
    addr: &str,
    options: &Options,
    builder: Builder<T, Threading, S>,
    stop: impl FnOnce(&S),
) -> ExitCode
where
    T: Yields<S::Request>,
    S: Service,
    Pool: Drives<S::Request>,
    for<'a> &'a str: BindAddr<T>,
{
    if options.busy_poll > 0 && options.mode != Mode::Event {
        log::error!("`--busy-poll` applies to `--mode event` only");
        return ExitCode::FAILURE;
    }
    let result = match options.mode {
        Mode::Sync => run(builder.concurrency(Synchronous), addr, options, stop),
        Mode::Threading => run(builder, addr, options, stop),
        Mode::Forking => run(builder.concurrency(Forking::new()), addr, options, stop),
        Mode::Pool => run(builder.concurrency(Pool::new()), addr, options, stop),
        Mode::Event => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "`--mode event` needs a buffer-shaped handler (`&mut Conn`), and this example's \
             reads its input itself: see the `echo` example for one that runs in every mode",
        )),
    };
    exit_status(result)
}

/// [`serve`], for an example whose handler also runs under `--mode event`.
// Not every example's handler can.
#[allow(dead_code)]
pub fn serve_all<T, S>(addr: &str, options: &Options, builder: Builder<T, Threading, S>) -> ExitCode
where
    T: Yields<S::Request>,
    S: Service,
    Pool: Drives<S::Request>,
    Event: Drives<S::Request>,
    for<'a> &'a str: BindAddr<T>,
{
    match options.mode {
        Mode::Event => {
            let event = Event::new().busy_poll(Duration::from_micros(options.busy_poll));
            exit_status(run(builder.concurrency(event), addr, options, |_| {}))
        }
        _ => serve(addr, options, builder),
    }
}

fn exit_status(result: io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, serves until a signal asks to stop, calls `stop`, then closes the
/// server.
fn run<T, C, S>(
    builder: Builder<T, C, S>,
    addr: &str,
    options: &Options,
    stop: impl FnOnce(&S),
) -> io::Result<()>
where
    T: Yields<S::Request>,
    C: Drives<S::Request>,
    S: Service,
    for<'a> &'a str: BindAddr<T>,
{
    let mut server = builder
        .timeout(options.timeout)
        .shutdown_timeout(SHUTDOWN_TIMEOUT)
        .bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("{addr:?}: {e}")))?;
    // Before announcing the address: from then on SIGINT or SIGTERM stops the
    // server cleanly (a second one ends the process at once).
    server.shutdown_on_signals()?;
    log::info!("listening on {:?}", server.server_address());
    server
        .serve_forever()
        .map_err(|e| io::Error::new(e.kind(), format!("the server loop failed: {e}")))?;
    stop(server.service());
    // Closing waits for the connections still open, and after SHUTDOWN_TIMEOUT
    // shuts them down so that their handlers return.
    drop(server);
    log::info!("stopped");
    Ok(())
}
