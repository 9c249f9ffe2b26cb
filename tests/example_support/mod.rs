//! Building an example from a test (`mod example_support;`).
//!
//! Cargo sets `CARGO_BIN_EXE_*` for binaries only, not for examples, so a test builds
//! the example itself with the cargo that runs the tests (`$CARGO`; a no-op when it is
//! up to date) and takes the executable's path from cargo's JSON messages: the right
//! one whatever the profile (`cargo test --release` included), never one left by an
//! earlier build of another profile.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Builds the example `name` with `args` (none: the workspace's default members, as
/// `cargo test` built it, so nothing is rebuilt) and returns its executable. `run` runs the prepared `cargo build` command and returns
/// its output (stdout is cargo's JSON messages).
pub fn build_example(
    name: &str,
    args: &[&str],
    run: impl FnOnce(&mut Command) -> Output,
) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--example", name])
        .args(args)
        .arg("--message-format=json")
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let output = run(&mut command);
    assert!(
        output.status.success(),
        "cargo build --example {name} failed"
    );
    String::from_utf8(output.stdout)
        .expect("cargo's messages are UTF-8")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|msg| {
            msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == name
                && msg["target"]["kind"][0] == "example"
        })
        .and_then(|msg| msg["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no executable for the {name} example"))
}
