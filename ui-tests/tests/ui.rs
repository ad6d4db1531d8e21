//! Compile-time behaviour of `#[server]`, `#[handle]` and `#[hook]`.
//!
//! `pass/*.rs` must compile (and run); `fail/*.rs` must fail with exactly the
//! message in the `.stderr` file beside each. Regenerate those with
//! `TRYBUILD=overwrite cargo test -p socketserver-ui-tests`, then read every diff.
//!
//! Compiler messages change between compiler versions: the `.stderr` files
//! belong to the compiler named in `TOOLCHAIN` below, and on any other this
//! test says so and is skipped rather than failed.

use std::process::Command;

/// The compiler the checked-in `.stderr` files were written by.
const TOOLCHAIN: &str = "rustc 1.95.";

#[test]
fn ui() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if !version.starts_with(TOOLCHAIN) {
        println!(
            "ui tests skipped: the .stderr files belong to {TOOLCHAIN}x, and this is {}",
            version.trim()
        );
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}
