//! The measurement tools still run: a tiny `idle_memory` run against the
//! `std` echo peer (not a measurement; the figures are not checked).

use std::process::Command;

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
