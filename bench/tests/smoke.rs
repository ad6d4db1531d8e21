//! The measurement tools and the peer servers still run: a tiny `idle_memory`
//! run against the `std` echo peer (not a measurement; the figures are not
//! checked), and every peer server started as the runner starts it
//! (`ServerProcess`) and answering an echo.

use socketserver_bench::ServerProcess;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::thread;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn idle_memory_measures_the_std_echo_server() {
    let output = Command::new(env!("CARGO_BIN_EXE_idle_memory"))
        .args(["5", "--", env!("CARGO_BIN_EXE_std_echo"), "{addr}"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("\"connections\":5"), "{stdout}");
    assert!(stdout.contains("\"kib_per_connection\":"), "{stdout}");
}

fn start(program: &str, args: &[&str]) -> ServerProcess {
    let command: Vec<String> = std::iter::once(program)
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    ServerProcess::start(&command).unwrap()
}

fn connect(server: &ServerProcess) -> TcpStream {
    let stream = TcpStream::connect_timeout(&server.addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// One small round trip, then a large message written in full before any of
/// the reply is read, so that the server's writes fill the socket and come
/// out partial: the reply must still be the message, byte for byte.
fn check_tcp_echo(program: &str, args: &[&str]) {
    let server = start(program, args);
    let mut stream = connect(&server);
    stream.write_all(b"hello\n").unwrap();
    let mut reply = [0; 6];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"hello\n", "{program}");

    let message: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let message = message.clone();
        thread::spawn(move || stream.write_all(&message).unwrap())
    };
    thread::sleep(Duration::from_millis(50));
    let mut reply = vec![0; message.len()];
    stream.read_exact(&mut reply).unwrap();
    writer.join().unwrap();
    assert!(reply == message, "{program}: the large echo differs");

    // A second connection is served too (and, for the multi-loop peers, the
    // first one's end does not disturb it).
    drop(stream);
    let mut stream = connect(&server);
    stream.write_all(b"again").unwrap();
    let mut reply = [0; 5];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"again", "{program}");
}

fn check_udp_echo(program: &str, args: &[&str]) {
    let server = start(program, args);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    for message in [&b"hello"[..], &[7; 1200][..]] {
        socket.send_to(message, server.addr).unwrap();
        let mut reply = [0; 2048];
        let (n, from) = socket.recv_from(&mut reply).unwrap();
        assert_eq!(from, server.addr, "{program}");
        assert_eq!(&reply[..n], message, "{program}");
    }
}

#[test]
fn std_echo_echoes() {
    check_tcp_echo(env!("CARGO_BIN_EXE_std_echo"), &["{addr}"]);
}

#[test]
fn tokio_echo_multi_thread_echoes() {
    check_tcp_echo(
        env!("CARGO_BIN_EXE_tokio_echo"),
        &["{addr}", "--flavor", "multi", "--workers", "2"],
    );
}

#[test]
fn tokio_echo_current_thread_echoes() {
    check_tcp_echo(
        env!("CARGO_BIN_EXE_tokio_echo"),
        &["--addr", "{addr}", "--flavor=current"],
    );
}

#[test]
fn mio_echo_echoes() {
    check_tcp_echo(env!("CARGO_BIN_EXE_mio_echo"), &["{addr}"]);
}

#[test]
fn mio_echo_reuseport_echoes() {
    check_tcp_echo(
        env!("CARGO_BIN_EXE_mio_echo_reuseport"),
        &["{addr}", "--threads", "3"],
    );
}

#[test]
fn std_udp_echo_echoes() {
    check_udp_echo(env!("CARGO_BIN_EXE_std_udp_echo"), &["{addr}"]);
}

#[test]
fn tokio_udp_echo_echoes() {
    check_udp_echo(env!("CARGO_BIN_EXE_tokio_udp_echo"), &["--addr", "{addr}"]);
}

#[test]
fn a_peer_refuses_an_unknown_option() {
    let output = Command::new(env!("CARGO_BIN_EXE_mio_echo"))
        .args(["127.0.0.1:0", "--workers", "2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

/// Runs `loadgen` briefly (4 connections, 1 thread, no warm-up, 0.3 s) in
/// `mode` against `server`, checks that it succeeded, and returns its JSON
/// line and standard error.
fn loadgen(server: &ServerProcess, mode: &str) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--addr", &server.addr.to_string(), "--mode", mode])
        .args(["--connections", "4", "--threads", "1", "--size", "100"])
        .args(["--warmup", "0", "--duration", "0.3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{stderr}",
        output.status
    );
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    assert!(
        stdout.starts_with(&format!("{{\"mode\":\"{mode}\",\"connections\":4,")),
        "{stdout}"
    );
    assert!(json_number(&stdout, "requests") > 0.0, "{stdout}");
    assert_eq!(json_number(&stdout, "errors"), 0.0, "{stdout}\n{stderr}");
    assert_eq!(
        json_number(&stdout, "connect_errors"),
        0.0,
        "{stdout}\n{stderr}"
    );
    assert!(json_number(&stdout, "p99_us") > 0.0, "{stdout}");
    (stdout, stderr)
}

/// The number after `"key":` in a flat JSON object.
fn json_number(json: &str, key: &str) -> f64 {
    let pattern = format!("\"{key}\":");
    let start = json
        .find(&pattern)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pattern.len();
    let value: String = json[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    value.parse().unwrap_or_else(|_| panic!("{key} in {json}"))
}

#[test]
fn loadgen_echo_round_trips() {
    let server = start(env!("CARGO_BIN_EXE_std_echo"), &["{addr}"]);
    let (stdout, _) = loadgen(&server, "echo");
    assert!(json_number(&stdout, "rps") > 0.0, "{stdout}");
}

#[test]
fn loadgen_connect_rate() {
    let server = start(env!("CARGO_BIN_EXE_std_echo"), &["{addr}"]);
    loadgen(&server, "connect");
}

#[test]
fn loadgen_udp_round_trips() {
    let server = start(env!("CARGO_BIN_EXE_std_udp_echo"), &["{addr}"]);
    loadgen(&server, "udp");
}

#[test]
fn loadgen_holds_idle_connections() {
    let server = start(env!("CARGO_BIN_EXE_std_echo"), &["{addr}"]);
    let (stdout, stderr) = loadgen(&server, "idle");
    assert!(stderr.contains("idle: 4 connections open"), "{stderr}");
    assert_eq!(json_number(&stdout, "open"), 4.0, "{stdout}");
}

#[test]
fn loadgen_fails_without_a_server() {
    // A port nobody listens on: bind one, note it, close it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "--addr",
            &addr.to_string(),
            "--connections",
            "2",
            "--duration",
            "0.1",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot connect"),
        "{output:?}"
    );
}
