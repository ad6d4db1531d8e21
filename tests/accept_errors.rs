//! The accept loop survives running out of file descriptors: it logs, backs
//! off on a timer instead of spinning, re-arms the accept itself (an
//! edge-triggered listener gets no new event for connections already queued),
//! and serves again once descriptors are free.
//!
//! The open-file limit is lowered in a child process (this test binary run
//! again under `ulimit -n`), so that the rest of the suite is not starved.

use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
use socketserver_tests::{BOUND, capture_logs, logged, serve, wait_until};
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// Set in the child's environment: run the scenario instead of skipping it.
const CHILD: &str = "SOCKETSERVER_TEST_EMFILE_CHILD";
const DONE: &str = "emfile scenario: served again after exhaustion";
/// What `io::Error` says for EMFILE.
const EMFILE: &str = "Too many open files";

#[test]
fn the_server_serves_again_after_running_out_of_file_descriptors() {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 64 && exec "$0" "$@""#)
        .arg(exe)
        .args(["--exact", "emfile_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(DONE),
        "the child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// The scenario; does nothing unless run as the child of the test above.
#[test]
fn emfile_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    capture_logs();
    let echo = handler_fn(|req: &mut StreamRequest| {
        let mut buf = [0; 64];
        let n = req.rfile().read(&mut buf)?;
        req.wfile().write_all(&buf[..n])
    });
    let running = serve(ThreadingTcpServer::bind("127.0.0.1:0", echo).unwrap());
    // Whatever the loop's start-up needs is open before descriptors run out.
    let handle = running.handle();
    wait_until("the server loop runs", || handle.is_serving());

    // Use up every descriptor but one, and spend that one on the client, so
    // the server's accept of it fails with EMFILE.
    let mut hogs = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => hogs.push(file),
            Err(e) if e.to_string().contains(EMFILE) => break,
            Err(e) => panic!("unexpected error while exhausting descriptors: {e}"),
        }
        assert!(hogs.len() < 100_000, "the descriptor limit was not lowered");
    }
    let mut client = None;
    for _ in 0..8 {
        // Should anything else in the process take the freed descriptor
        // first, free one more.
        hogs.pop();
        match TcpStream::connect_timeout(&running.addr(), BOUND) {
            Ok(stream) => {
                client = Some(stream);
                break;
            }
            Err(e) if e.to_string().contains(EMFILE) => continue,
            Err(e) => panic!("cannot connect to the server: {e}"),
        }
    }
    let mut client = client.expect("a descriptor for the client");
    client.set_read_timeout(Some(BOUND)).unwrap();
    wait_until("the server reports EMFILE", || !logged(EMFILE).is_empty());

    // Backing off, not spinning: while descriptors stay exhausted the server
    // retries a handful of times (10 ms, doubling), not thousands. This sleep
    // is the length of the exhaustion, not a wait for the server.
    std::thread::sleep(Duration::from_millis(300));
    let attempts = logged(EMFILE).len();
    assert!(
        attempts <= 20,
        "{attempts} accept attempts in 300 ms: the loop spins"
    );
    assert!(!logged("trying again").is_empty());

    drop(hogs);
    client.write_all(b"ping").unwrap();
    let mut reply = [0; 4];
    client.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"ping");
    running.stop().unwrap();
    println!("{DONE}");
}
