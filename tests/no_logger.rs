//! Errors are never invisible: a program that installed no logger sees every
//! handler error and panic on standard error, once, with the client's address;
//! a program with a logger sees them through it alone. Routine disconnects
//! stay quiet either way.
//!
//! Each scenario runs in a child process (this test binary run again), so that
//! its standard error and its logger are its own.

use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
use socketserver_tests::{
    capture_logs, child_test, connect, is_child_test, logged, read_to_end, wait_until,
};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

/// Runs scenario `name` in a child; returns its standard output and error.
fn run_child(name: &str) -> (String, String) {
    let output = child_test(name).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// Serves three clients: one whose handler fails, one whose handler panics,
/// one that resets its connection. Prints `client <kind> <address>` for each.
fn scenario() {
    let server = ThreadingTcpServer::bind(
        "127.0.0.1:0",
        handler_fn(|req: &mut StreamRequest| {
            let mut what = [0];
            req.rfile().read_exact(&mut what)?;
            match &what {
                b"e" => Err(io::Error::other("marker-error-5d1b")),
                b"p" => panic!("marker-panic-9e04"),
                _ => {
                    req.wfile().write_all(b"ok")?;
                    req.wfile().flush()?;
                    req.rfile().read_exact(&mut what)
                }
            }
        }),
    )
    .unwrap();
    let running = socketserver_tests::serve(server);
    for kind in ["e", "p", "r"] {
        let mut client = connect(running.addr());
        let address = client.local_addr().unwrap();
        client.write_all(kind.as_bytes()).unwrap();
        if kind == "r" {
            client.read_exact(&mut [0; 2]).unwrap();
            let client = socket2::Socket::from(client);
            client.set_linger(Some(Duration::ZERO)).unwrap();
        } else {
            client.shutdown(Shutdown::Write).unwrap();
            assert_eq!(read_to_end(&mut client), b"");
        }
        println!("client {kind} {address}");
    }
    // Every handler has returned, and so has reported what it had to.
    running.stop().unwrap();
}

/// The clients the child served, by kind.
fn client(stdout: &str, kind: &str) -> String {
    let prefix = format!("client {kind} ");
    stdout
        .lines()
        .find_map(|line| line.split_once(&prefix).map(|(_, address)| address))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
        .to_owned()
}

#[test]
fn without_a_logger_errors_and_panics_go_to_standard_error_once() {
    let (stdout, stderr) = run_child("scenario_without_a_logger");
    let lines_with = |needle: &str| -> Vec<&str> {
        stderr
            .lines()
            .filter(|line| line.contains(needle))
            .collect()
    };
    let errors = lines_with("marker-error-5d1b");
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(&client(&stdout, "e")), "{stderr}");
    let panics = lines_with("marker-panic-9e04");
    assert_eq!(panics.len(), 1, "{stderr}");
    assert!(panics[0].contains(&client(&stdout, "p")), "{stderr}");
    assert!(
        panics[0].contains("panicked at tests/no_logger.rs:"),
        "{stderr}"
    );
    // Not a second time by the standard panic hook.
    assert!(lines_with("thread '").is_empty(), "{stderr}");
    // A reset is routine.
    assert!(lines_with(&client(&stdout, "r")).is_empty(), "{stderr}");
}

#[test]
fn with_a_logger_errors_and_panics_go_to_the_logger_alone() {
    let (stdout, stderr) = run_child("scenario_with_a_logger");
    for needle in [
        "marker-error-5d1b",
        "marker-panic-9e04",
        &client(&stdout, "r"),
    ] {
        assert!(!stderr.contains(needle), "{needle} on stderr:\n{stderr}");
    }
}

/// The child of the first test; does nothing unless run as that child.
#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn scenario_without_a_logger() {
    if is_child_test("scenario_without_a_logger") {
        scenario();
    }
}

/// The child of the second test; checks the logger got what stderr did not.
#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn scenario_with_a_logger() {
    if !is_child_test("scenario_with_a_logger") {
        return;
    }
    capture_logs();
    scenario();
    for needle in ["marker-error-5d1b", "marker-panic-9e04"] {
        wait_until("it is logged", || !logged(needle).is_empty());
        assert!(logged(needle)[0].starts_with("ERROR "));
    }
}
