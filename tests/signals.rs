//! `Server::shutdown_on_signals`: the first SIGTERM stops a server gracefully
//! (exit status 0, even with an idle client connected), a second one ends the
//! process at once, and a dropped server gives the signals back.
//!
//! Each scenario runs in a child process (this test binary run again), which
//! the test signals by its process id; a guard kills and reaps it whatever
//! happens.

use socketserver::{StreamRequest, ThreadingTcpServer, handler_fn};
use socketserver_tests::{BOUND, child_test, connect, is_child_test};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const SIGTERM: i32 = 15;
/// The children's `shutdown_timeout`.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(500);

/// A child process running one scenario, killed and reaped when dropped.
struct Scenario {
    child: Child,
    lines: Receiver<String>,
    /// The child's standard error, for failure messages.
    stderr: Arc<Mutex<String>>,
}

impl Scenario {
    fn start(name: &str) -> Scenario {
        let mut child = child_test(name)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            collected.lock().unwrap().push_str(&text);
        });
        Scenario {
            child,
            lines,
            stderr,
        }
    }

    /// What the child wrote on standard error so far (all of it once it exited).
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for a line of the child's output containing `needle`; returns
    /// what follows it.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no line with {needle:?} from the child ({e}); its stderr:\n{}",
                    self.stderr()
                )
            });
            if let Some((_, rest)) = line.split_once(needle) {
                return rest.trim().to_owned();
            }
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}: {status}");
    }

    /// Waits (bounded) for the child to exit.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the child did not exit; its stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_stops_the_server_gracefully_with_an_idle_client() {
    let mut scenario = Scenario::start("serve_until_signalled");
    let addr = scenario.wait_for("listening on ").parse().unwrap();
    let mut client = connect(addr);
    client.write_all(b"x").unwrap();
    client.read_exact(&mut [0]).unwrap();
    // The client stays connected and silent.
    let asked = Instant::now();
    scenario.signal("TERM");
    let status = scenario.wait();
    let took = asked.elapsed();
    assert!(status.success(), "{status}; stderr:\n{}", scenario.stderr());
    scenario.wait_for("closed");
    // `shutdown_timeout` after the signal, the idle connection was shut down.
    assert!(took < SHUTDOWN_TIMEOUT + Duration::from_secs(8), "{took:?}");
    let mut rest = Vec::new();
    assert_eq!(client.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn a_second_sigterm_ends_the_process_at_once() {
    let mut scenario = Scenario::start("serve_a_stuck_handler");
    let addr = scenario.wait_for("listening on ").parse().unwrap();
    let mut client = connect(addr);
    client.write_all(b"x").unwrap();
    client.read_exact(&mut [0]).unwrap();
    scenario.signal("TERM");
    // Closing now waits for a handler that ignores the end of its input.
    scenario.wait_for("serve_forever returned");
    scenario.signal("TERM");
    assert_eq!(scenario.wait().signal(), Some(SIGTERM));
}

#[test]
fn a_dropped_server_gives_the_signals_back() {
    let mut scenario = Scenario::start("drop_the_server");
    scenario.wait_for("dropped");
    scenario.signal("TERM");
    assert_eq!(scenario.wait().signal(), Some(SIGTERM));
}

/// Echoes one byte, then waits for the client's end of input.
fn echo_then_wait(req: &mut StreamRequest) -> std::io::Result<()> {
    let mut byte = [0];
    req.rfile().read_exact(&mut byte)?;
    req.wfile().write_all(&byte)?;
    req.rfile().read_to_end(&mut Vec::new()).map(drop)
}

#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn serve_until_signalled() {
    if !is_child_test("serve_until_signalled") {
        return;
    }
    let mut server = ThreadingTcpServer::builder(handler_fn(echo_then_wait))
        .shutdown_timeout(SHUTDOWN_TIMEOUT)
        .bind("127.0.0.1:0")
        .unwrap();
    server.shutdown_on_signals().unwrap();
    println!("listening on {}", server.server_address());
    server.serve_forever().unwrap();
    drop(server);
    println!("closed");
}

#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn serve_a_stuck_handler() {
    if !is_child_test("serve_a_stuck_handler") {
        return;
    }
    let stuck = handler_fn(|req: &mut StreamRequest| {
        let mut byte = [0];
        req.rfile().read_exact(&mut byte)?;
        req.wfile().write_all(&byte)?;
        req.wfile().flush()?;
        // Deaf to the shutdown of its connection (bounded all the same).
        thread::sleep(BOUND);
        Ok(())
    });
    let mut server = ThreadingTcpServer::builder(stuck)
        .shutdown_timeout(Duration::from_millis(50))
        .bind("127.0.0.1:0")
        .unwrap();
    server.shutdown_on_signals().unwrap();
    println!("listening on {}", server.server_address());
    server.serve_forever().unwrap();
    println!("serve_forever returned");
    drop(server);
    println!("closed (too late: the second signal should have ended the process)");
}

#[test]
#[ignore = "a scenario, run in a child process by another test"]
fn drop_the_server() {
    if !is_child_test("drop_the_server") {
        return;
    }
    let mut server = ThreadingTcpServer::bind("127.0.0.1:0", handler_fn(echo_then_wait)).unwrap();
    server.shutdown_on_signals().unwrap();
    drop(server);
    println!("dropped");
    // The signal should end the process during this (bounded) wait.
    thread::sleep(BOUND);
}
