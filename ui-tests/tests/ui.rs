//! Compile-time behaviour of `#[server]`, `#[handle]` and `#[hook]`.
//!
//! `pass/*.rs` must compile (and run); `fail/*.rs` must fail with exactly the
//! message in the `.stderr` file beside each. Regenerate those with
//! `TRYBUILD=overwrite cargo test -p socketserver-ui-tests`, then read every diff.
//!
//! Compiler messages change between compiler versions: the `.stderr` files
//! belong to the compiler named in `TOOLCHAIN` below. On any other, this test
//! is skipped with a message on a developer's machine (a newer or older
//! compiler words the same errors differently, which is no fault of the
//! code), and fails in CI (where `CI` is set), which must run the compiler the
//! files belong to.

use std::process::Command;

/// The compiler the checked-in `.stderr` files were written by.
const TOOLCHAIN: &str = "rustc 1.95.";

#[test]
fn ui() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if !version.starts_with(TOOLCHAIN) {
        let why = format!(
            "the ui tests' .stderr files belong to {TOOLCHAIN}x, and `{rustc} --version` says \
             {version:?}"
        );
        if in_ci() {
            panic!(
                "{why}: CI must run them with that compiler (the rust-toolchain.toml pins it); \
                 or, when moving to a new compiler, regenerate them with \
                 `TRYBUILD=overwrite cargo test -p socketserver-ui-tests`, read every diff, and \
                 update `TOOLCHAIN` in ui-tests/tests/ui.rs"
            );
        }
        println!("ui tests skipped: {why} (the test fails instead where `CI` is set)");
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}

/// Whether this runs in CI: `CI` is set to anything but `false` or `0`, as
/// GitHub Actions, GitLab CI and `bash .ci/run` (`CI=true`) set it.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}
