//! The benchmark matrix: every mode of our `echo` and `udp_echo` and every peer
//! server (tokio, mio, std), side by side in one run, each case repeated with
//! the servers alternating run by run (A B C … A B C …), and a table of medians
//! with each server's ratio to tokio's multi-thread runtime measured in the
//! same run.
//!
//! Run it through `bench/run` (which builds the binaries and raises the limit
//! of open files): `bench/run [--quick] [OPTIONS]`.
//!
//! ```text
//! --server-cpus LIST   CPUs of the server (taskset -c)   default: 0 on 2 cores, 0,1 on more
//! --client-cpus LIST   CPUs of the load generator        default: 1 on 2 cores, 2-(N-1) on more
//! --repeat N           runs of each case per server       default: 3
//! --duration SECS      measured seconds per run           default: 3
//! --warmup SECS        unmeasured seconds before it       default: 1
//! --connections LIST   echo cases, comma-separated        default: 1,50,1000,10000
//! --idle N             idle connections for memory        default: 10000
//! --quick              1 repeat, 1 s runs, 0.5 s warm-up, connections 1,50, idle 1000
//! --servers LIST       only these servers, by name, comma-separated (tokio multi,
//!                      the baseline, always runs)   e.g. "echo event,tokio current"
//! --no-strace          skip the system-call counts
//! --json FILE          every sample as a JSON line too
//! ```
//!
//! Besides requests per second and latency percentiles (from `loadgen`), it
//! reports each server's CPU time per request (user and system, from
//! `/proc/<pid>/stat` around the run, scaled to the measured part of it), its
//! system calls per request (a separate short run under `strace -c -f`), its
//! resident memory per idle connection, and for our server the time from
//! `shutdown()` to `serve_forever()` returning with `poll_interval` = 0.5 s.

use socketserver::{StreamRequest, TcpServer, handler_fn};
use socketserver_bench::proc::cpu_time;
use socketserver_bench::{ServerProcess, steady_resident_kib};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Where every mode's figures are compared to.
const BASELINE: &str = "tokio multi";

fn main() -> io::Result<()> {
    let options = Options::parse()?;
    let bin = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| io::Error::other("no directory of this executable"))?;
    let mut servers = servers(&bin);
    for name in &options.only {
        if !servers.iter().any(|s| s.name == name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no server is named {name:?}"),
            ));
        }
    }
    if !options.only.is_empty() {
        servers.retain(|s| s.name == BASELINE || options.only.iter().any(|n| n == s.name));
    }
    for server in &servers {
        if !Path::new(&server.command[0]).exists() {
            return Err(io::Error::other(format!(
                "{} is not built: run this through bench/run",
                server.command[0]
            )));
        }
    }
    let mut json = match &options.json {
        Some(path) => Some(File::create(path)?),
        None => None,
    };
    let mut report = String::new();
    writeln!(report, "{}", machine(&options)).unwrap();

    let mut cases = Vec::new();
    for &c in &options.connections {
        cases.push(Case {
            mode: "echo",
            connections: c,
        });
    }
    cases.push(Case {
        mode: "connect",
        connections: 50,
    });
    cases.push(Case {
        mode: "udp",
        connections: 1,
    });
    cases.push(Case {
        mode: "udp",
        connections: 50,
    });

    for case in &cases {
        let runnable: Vec<&Server> = servers.iter().filter(|s| s.runs(case)).collect();
        let mut samples: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
        for run in 0..options.repeat {
            for server in &runnable {
                eprintln!(
                    "{} c={} run {}: {}",
                    case.mode,
                    case.connections,
                    run + 1,
                    server.name
                );
                match measure(server, case, &options) {
                    Ok(sample) => {
                        if let Some(file) = &mut json {
                            writeln!(file, "{}", sample.json(server, case))?;
                        }
                        samples.entry(server.name).or_default().push(sample);
                    }
                    Err(e) => eprintln!("  failed: {e}"),
                }
            }
        }
        report.push_str(&case_table(case, &runnable, &samples));
    }

    report.push_str(&memory_table(&servers, &options)?);
    if options.strace {
        report.push_str(&syscall_table(&servers, &options)?);
    }
    report.push_str(&shutdown_line()?);
    print!("{report}");
    Ok(())
}

/// The command line.
#[derive(Clone)]
struct Options {
    server_cpus: String,
    client_cpus: String,
    repeat: usize,
    duration: f64,
    warmup: f64,
    connections: Vec<usize>,
    idle: usize,
    strace: bool,
    json: Option<PathBuf>,
    /// Only these servers (and the baseline); all when empty.
    only: Vec<String>,
}

impl Options {
    fn parse() -> io::Result<Options> {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        let (server_cpus, client_cpus) = if cpus <= 2 {
            ("0".to_owned(), if cpus == 2 { "1" } else { "0" }.to_owned())
        } else {
            ("0,1".to_owned(), format!("2-{}", cpus - 1))
        };
        let mut options = Options {
            server_cpus,
            client_cpus,
            repeat: 3,
            duration: 3.0,
            warmup: 1.0,
            connections: vec![1, 50, 1000, 10_000],
            idle: 10_000,
            strace: true,
            json: None,
            only: Vec::new(),
        };
        let mut args = std::env::args().skip(1);
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| bad(&format!("{arg} needs a value")))
            };
            match arg.as_str() {
                "--server-cpus" => options.server_cpus = value()?,
                "--client-cpus" => options.client_cpus = value()?,
                "--repeat" => options.repeat = value()?.parse().map_err(|_| bad("--repeat N"))?,
                "--duration" => {
                    options.duration = value()?.parse().map_err(|_| bad("--duration SECS"))?
                }
                "--warmup" => {
                    options.warmup = value()?.parse().map_err(|_| bad("--warmup SECS"))?
                }
                "--connections" => {
                    options.connections = value()?
                        .split(',')
                        .map(|c| c.trim().parse().map_err(|_| bad("--connections 1,50,…")))
                        .collect::<io::Result<_>>()?
                }
                "--idle" => options.idle = value()?.parse().map_err(|_| bad("--idle N"))?,
                "--quick" => {
                    options.repeat = 1;
                    options.duration = 1.0;
                    options.warmup = 0.5;
                    options.connections = vec![1, 50];
                    options.idle = 1000;
                }
                "--no-strace" => options.strace = false,
                "--servers" => {
                    options.only = value()?.split(',').map(|s| s.trim().to_owned()).collect()
                }
                "--json" => options.json = Some(value()?.into()),
                "--help" | "-h" => {
                    // The module docs are the help.
                    println!("see the top of bench/src/bin/matrix.rs, or BENCHMARKS.md");
                    std::process::exit(0);
                }
                _ => return Err(bad(&format!("unknown option {arg}"))),
            }
        }
        Ok(options)
    }

    /// How many CPUs `list` (taskset's syntax) names.
    fn count(list: &str) -> usize {
        list.split(',')
            .map(|part| match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (usize, usize) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
                    b.saturating_sub(a) + 1
                }
                None => 1,
            })
            .sum()
    }
}

/// A server under measurement.
struct Server {
    name: &'static str,
    /// Ours (an example of this repository), not a peer.
    ours: bool,
    udp: bool,
    /// The most connections it can serve at once (forking: `max_children`).
    most: usize,
    command: Vec<String>,
}

impl Server {
    fn runs(&self, case: &Case) -> bool {
        let udp = case.mode == "udp";
        if udp != self.udp {
            return false;
        }
        // One request at a time: only meaningful with one client.
        if self.name.ends_with("sync") && case.mode != "connect" {
            return case.connections == 1;
        }
        case.mode == "connect" || case.connections <= self.most
    }
}

fn servers(bin: &Path) -> Vec<Server> {
    let path = |name: &str| bin.join(name).to_string_lossy().into_owned();
    let example = |name: &str| {
        bin.join("examples")
            .join(name)
            .to_string_lossy()
            .into_owned()
    };
    let ours =
        |name: &'static str, example_name: &str, mode: &str, udp: bool, most: usize| Server {
            name,
            ours: true,
            udp,
            most,
            command: vec![
                example(example_name),
                "--addr".into(),
                "{addr}".into(),
                "--mode".into(),
                mode.into(),
            ],
        };
    let peer = |name: &'static str, binary: &str, args: &[&str], udp: bool| Server {
        name,
        ours: false,
        udp,
        most: usize::MAX,
        command: std::iter::once(path(binary))
            .chain(std::iter::once("{addr}".to_owned()))
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect(),
    };
    vec![
        peer(BASELINE, "tokio_echo", &["--flavor", "multi"], false),
        peer(
            "tokio current",
            "tokio_echo",
            &["--flavor", "current"],
            false,
        ),
        peer("mio", "mio_echo", &[], false),
        peer("mio reuseport", "mio_echo_reuseport", &[], false),
        peer("std", "std_echo", &[], false),
        ours("echo sync", "echo", "sync", false, usize::MAX),
        ours("echo threading", "echo", "threading", false, usize::MAX),
        ours("echo pool", "echo", "pool", false, usize::MAX),
        ours("echo forking", "echo", "forking", false, 40),
        ours("echo event", "echo", "event", false, usize::MAX),
        peer("tokio udp", "tokio_udp_echo", &[], true),
        peer("std udp", "std_udp_echo", &[], true),
        ours("udp_echo sync", "udp_echo", "sync", true, usize::MAX),
        ours(
            "udp_echo threading",
            "udp_echo",
            "threading",
            true,
            usize::MAX,
        ),
        ours("udp_echo pool", "udp_echo", "pool", true, usize::MAX),
        ours("udp_echo event", "udp_echo", "event", true, usize::MAX),
    ]
}

/// One kind of load.
struct Case {
    mode: &'static str,
    connections: usize,
}

/// One run's figures.
#[derive(Clone, Debug, Default)]
struct Sample {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    errors: f64,
    user_us_per_request: f64,
    system_us_per_request: f64,
}

impl Sample {
    fn json(&self, server: &Server, case: &Case) -> String {
        format!(
            "{{\"server\":{:?},\"mode\":{:?},\"connections\":{},\"rps\":{:.0},\"p50_us\":{:.1},\
             \"p99_us\":{:.1},\"p999_us\":{:.1},\"errors\":{},\"user_us_per_request\":{:.2},\
             \"system_us_per_request\":{:.2}}}",
            server.name,
            case.mode,
            case.connections,
            self.rps,
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.errors,
            self.user_us_per_request,
            self.system_us_per_request
        )
    }
}

/// `taskset -c CPUS` and then `command`.
fn pinned(cpus: &str, command: &[String]) -> Vec<String> {
    ["taskset".to_owned(), "-c".to_owned(), cpus.to_owned()]
        .into_iter()
        .chain(command.iter().cloned())
        .collect()
}

/// The load generator's command for `case` against `addr`.
fn loadgen(options: &Options, case: &Case, addr: &str, duration: f64) -> Command {
    let bin = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("loadgen")))
        .unwrap_or_else(|| PathBuf::from("loadgen"));
    let mut command = Command::new("taskset");
    command
        .args(["-c", &options.client_cpus])
        .arg(bin)
        .args(["--addr", addr, "--mode", case.mode])
        .args(["--connections", &case.connections.to_string()])
        .args([
            "--threads",
            &Options::count(&options.client_cpus).to_string(),
        ])
        .args(["--warmup", &options.warmup.to_string()])
        .args(["--duration", &duration.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}

/// A number field of a flat JSON object.
fn field(json: &str, key: &str) -> Option<f64> {
    let start = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// One run: a fresh server, the load, its figures.
fn measure(server: &Server, case: &Case, options: &Options) -> io::Result<Sample> {
    let process = ServerProcess::start(&pinned(&options.server_cpus, &server.command))?;
    let before = cpu_time(process.pid())?;
    let output = loadgen(options, case, &process.addr.to_string(), options.duration)
        .stderr(Stdio::inherit())
        .output()?;
    let spent = cpu_time(process.pid())?.since(before);
    let line = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "loadgen failed ({}): {line}",
            output.status
        )));
    }
    let get = |key| field(&line, key).unwrap_or(f64::NAN);
    let requests = get("requests");
    // The CPU was measured over the warm-up too: count its share out,
    // assuming the same rate.
    let measured_share = options.duration / (options.duration + options.warmup);
    let per_request = |us: u64| us as f64 * measured_share / requests.max(1.0);
    Ok(Sample {
        rps: get("rps"),
        p50_us: get("p50_us"),
        p99_us: get("p99_us"),
        p999_us: get("p999_us"),
        errors: get("errors") + field(&line, "lost").unwrap_or(0.0),
        user_us_per_request: per_request(spent.user_us),
        system_us_per_request: per_request(spent.system_us),
    })
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The table of one case: medians, and the ratio to the baseline.
fn case_table(case: &Case, servers: &[&Server], samples: &BTreeMap<&str, Vec<Sample>>) -> String {
    let mut out = String::new();
    let title = match case.mode {
        "echo" => format!(
            "echo round trips, {} connection(s), one request in flight each",
            case.connections
        ),
        "connect" => format!(
            "short connections (connect, echo, close), {} at once",
            case.connections
        ),
        _ => format!("UDP round trips, {} socket(s)", case.connections),
    };
    writeln!(out, "\n### {title}\n").unwrap();
    writeln!(
        out,
        "| server | req/s | ratio to {BASELINE} | p50 µs | p99 µs | p99.9 µs | user µs/req | sys µs/req | errors |"
    )
    .unwrap();
    writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    .unwrap();
    let med = |name: &str, get: fn(&Sample) -> f64| {
        samples
            .get(name)
            .map_or(f64::NAN, |s| median(s.iter().map(get)))
    };
    // The UDP cases have their own baseline: tokio's UDP echo.
    let baseline = if case.mode == "udp" {
        "tokio udp"
    } else {
        BASELINE
    };
    let base = med(baseline, |s| s.rps);
    for server in servers {
        let rps = med(server.name, |s| s.rps);
        let name = if server.ours {
            format!("**{}**", server.name)
        } else {
            server.name.to_owned()
        };
        writeln!(
            out,
            "| {name} | {rps:.0} | {:.2}× | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} |",
            rps / base,
            med(server.name, |s| s.p50_us),
            med(server.name, |s| s.p99_us),
            med(server.name, |s| s.p999_us),
            med(server.name, |s| s.user_us_per_request),
            med(server.name, |s| s.system_us_per_request),
            med(server.name, |s| s.errors),
        )
        .unwrap();
    }
    if case.mode == "udp" {
        writeln!(out, "\n(UDP ratios are to `tokio udp`.)").unwrap();
    }
    out
}

/// Resident memory per idle connection of each TCP server that holds them.
fn memory_table(servers: &[Server], options: &Options) -> io::Result<String> {
    let mut out = String::new();
    writeln!(
        out,
        "\n### Resident memory per idle connection, {} connections\n",
        options.idle
    )
    .unwrap();
    writeln!(
        out,
        "| server | KiB per connection | ratio to std | ratio to {BASELINE} |"
    )
    .unwrap();
    writeln!(out, "| --- | ---: | ---: | ---: |").unwrap();
    let case = Case {
        mode: "idle",
        connections: options.idle,
    };
    let mut rows = Vec::new();
    for server in servers {
        if server.udp || server.name.ends_with("sync") || server.most < options.idle {
            continue;
        }
        eprintln!("idle c={}: {}", options.idle, server.name);
        let measured = idle_memory(server, &case, options);
        if let Err(e) = &measured {
            eprintln!("  failed: {e}");
        }
        rows.push((server, measured));
    }
    let of = |name: &str| {
        rows.iter()
            .find(|(s, _)| s.name == name)
            .and_then(|(_, k)| k.as_ref().ok().copied())
            .unwrap_or(f64::NAN)
    };
    let (std, baseline) = (of("std"), of(BASELINE));
    for (server, measured) in &rows {
        match measured {
            Ok(kib) => writeln!(
                out,
                "| {} | {kib:.2} | {:.2}× | {:.2}× |",
                server.name,
                kib / std,
                kib / baseline
            ),
            Err(e) => writeln!(out, "| {} | n/a: {e} | | |", server.name),
        }
        .unwrap();
    }
    Ok(out)
}

/// The server's resident memory per connection while `loadgen --mode idle`
/// holds `case.connections` of them.
fn idle_memory(server: &Server, case: &Case, options: &Options) -> io::Result<f64> {
    let process = ServerProcess::start(&pinned(&options.server_cpus, &server.command))?;
    let before = steady_resident_kib(process.pid())?;
    let mut child = loadgen(options, case, &process.addr.to_string(), 60.0)
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = BufReader::new(child.stderr.take().expect("piped"));
    // "idle: N connections open": each of them made its round trip.
    let mut held = None;
    for line in stderr.lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("idle: ") {
            held = rest.split(' ').next().and_then(|n| n.parse::<usize>().ok());
            break;
        }
    }
    let result = match held {
        Some(n) if n == case.connections => {
            let after = steady_resident_kib(process.pid())?;
            Ok(after.saturating_sub(before) as f64 / case.connections as f64)
        }
        // A server that serves fewer at once (a pool) leaves the rest in
        // its backlog: a figure per connection would mean nothing.
        Some(n) => Err(io::Error::other(format!(
            "only {n} of the {} connections were served at once",
            case.connections
        ))),
        None => Err(io::Error::other("loadgen did not hold the connections")),
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// System calls per request, from a short run under `strace -c -f`, apart
/// from the timed runs (strace slows a server down many times over).
fn syscall_table(servers: &[Server], options: &Options) -> io::Result<String> {
    let mut out = String::new();
    let case = Case {
        mode: "echo",
        connections: 50,
    };
    writeln!(
        out,
        "\n### System calls per request (echo, 50 connections, under strace)\n"
    )
    .unwrap();
    writeln!(out, "| server | syscalls/req | the most frequent |").unwrap();
    writeln!(out, "| --- | ---: | --- |").unwrap();
    for server in servers {
        if server.udp || !server.runs(&case) {
            continue;
        }
        eprintln!("strace: {}", server.name);
        match syscalls(server, &case, options) {
            Ok((per_request, top)) => {
                writeln!(out, "| {} | {per_request:.2} | {top} |", server.name).unwrap()
            }
            Err(e) => eprintln!("  failed: {e}"),
        }
    }
    Ok(out)
}

fn syscalls(server: &Server, case: &Case, options: &Options) -> io::Result<(f64, String)> {
    let process = ServerProcess::start(&pinned(&options.server_cpus, &server.command))?;
    let summary = std::env::temp_dir().join(format!("strace-{}.txt", process.pid()));
    let mut strace = Command::new("strace")
        .args(["-c", "-f", "-o"])
        .arg(&summary)
        .args(["-p", &process.pid().to_string()])
        .stderr(Stdio::null())
        .spawn()?;
    // strace attaches to every thread before it counts.
    thread::sleep(Duration::from_millis(500));
    let quiet = Options {
        warmup: 0.0,
        ..options.clone()
    };
    let output = loadgen(&quiet, case, &process.addr.to_string(), 1.0).output()?;
    let requests = field(&String::from_utf8_lossy(&output.stdout), "requests").unwrap_or(0.0);
    // SIGINT makes strace detach and write its summary.
    let _ = Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status();
    let _ = strace.wait();
    let text = std::fs::read_to_string(&summary).unwrap_or_default();
    let _ = std::fs::remove_file(&summary);
    drop(process);
    let mut calls: Vec<(u64, String)> = text
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // % time, seconds, usecs/call, calls, [errors], syscall
            let name = *cols.last()?;
            let calls = cols.get(3)?.parse().ok()?;
            (name != "total").then(|| (calls, name.to_owned()))
        })
        .collect();
    let total: u64 = calls.iter().map(|(n, _)| n).sum();
    calls.sort_by_key(|call| std::cmp::Reverse(call.0));
    let top = calls
        .iter()
        .take(3)
        .map(|(n, name)| format!("{name} {:.2}", *n as f64 / requests.max(1.0)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((total as f64 / requests.max(1.0), top))
}

/// The time from `shutdown()` to `serve_forever()` returning, with
/// `poll_interval` = 0.5 s (Python's loop notices only at its next poll).
fn shutdown_line() -> io::Result<String> {
    let mut times = Vec::new();
    for _ in 0..10 {
        let mut server = TcpServer::builder(handler_fn(|_: &mut StreamRequest| Ok(())))
            .poll_interval(Duration::from_millis(500))
            .bind("127.0.0.1:0")?;
        let handle = server.shutdown_handle();
        let serving = thread::spawn(move || server.serve_forever());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !handle.is_serving() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        // Let it settle into its wait.
        thread::sleep(Duration::from_millis(100));
        let asked = Instant::now();
        handle.shutdown();
        serving
            .join()
            .map_err(|_| io::Error::other("serve_forever panicked"))??;
        times.push(asked.elapsed().as_secs_f64() * 1e6);
    }
    Ok(format!(
        "\n### Shutdown\n\n`shutdown()` to `serve_forever()` returning, `poll_interval` = 0.5 s: \
         median {:.0} µs of 10 (Python's loop takes up to the 0.5 s).\n",
        median(times.into_iter())
    ))
}

/// The machine, for the report.
fn machine(options: &Options) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "Machine: {cpus} × {cpu}; server on CPUs {}, load generator on CPUs {}; {} run(s) of {} s \
         (after {} s of warm-up) per case and server, servers alternating run by run.",
        options.server_cpus, options.client_cpus, options.repeat, options.duration, options.warmup
    )
}
