//! `examples/decode.rs` on every conformance vector: one JSON line per dispatched
//! event, matching the expected events.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod example_support;

/// The repository root (the workspace root, where `cargo build --example` finds the
/// examples package).
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Builds the example (a no-op when `cargo test` already did) and returns its path.
fn example() -> PathBuf {
    example_support::build_example("decode", &[], |command| command.output().unwrap())
}

fn run(exe: &Path, input: &[u8], args: &[&str]) -> (Vec<Value>, String, bool) {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    (
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn prints_the_expected_events_for_every_vector() {
    let dir = root().join("tests/data/wpt");
    let index = std::fs::read_to_string(dir.join("INDEX")).unwrap_or_else(|e| {
        panic!(
            "conformance vectors missing at {} (tests/data/wpt in the repository): {e}",
            dir.display()
        )
    });
    let exe = example();
    let mut checked = 0;
    for name in index.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let input = std::fs::read(dir.join(format!("{name}.sse"))).unwrap();
        let expected: Vec<Value> =
            std::fs::read_to_string(dir.join(format!("{name}.expected.jsonl")))
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        let (got, stderr, ok) = run(&exe, &input, &[]);
        assert!(ok, "{name}: exit status, stderr {stderr}");
        assert_eq!(got.len(), expected.len(), "{name}: {got:?}");
        for (g, e) in got.iter().zip(&expected) {
            let g = g.as_object().unwrap();
            assert_eq!(
                g.keys().collect::<Vec<_>>(),
                ["data", "id", "retry", "type"],
                "{name}"
            );
            assert!(g["id"].is_string() && (g["retry"].is_null() || g["retry"].is_u64()));
            for (key, value) in e.as_object().unwrap() {
                assert_eq!(&g[key], value, "{name}: {key}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 26);
}

#[test]
fn retry_is_the_latest_seen_and_errors_go_to_stderr() {
    let exe = example();
    let input = b"data: a\n\nretry: 10\ndata: b\n\nretry: x\nid: 7\ndata: c\n\n";
    let (got, _, ok) = run(&exe, input, &[]);
    assert!(ok);
    let simple: Vec<(String, String, Value)> = got
        .iter()
        .map(|v| {
            (
                v["data"].as_str().unwrap().to_owned(),
                v["id"].as_str().unwrap().to_owned(),
                v["retry"].clone(),
            )
        })
        .collect();
    assert_eq!(
        simple,
        [
            ("a".into(), "".into(), Value::Null),
            ("b".into(), "".into(), Value::from(10)),
            ("c".into(), "7".into(), Value::from(10)),
        ]
    );

    let (got, stderr, ok) = run(
        &exe,
        b"data: 0123456789\n\ndata: ok\n\n",
        &["--max-event-size", "4"],
    );
    assert!(!ok, "a crossed limit makes the exit status 1");
    assert!(stderr.contains("event too large"), "{stderr}");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"], "ok");
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_exits_2_without_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    for args in [
        vec![bad],
        vec![std::ffi::OsStr::new("--max-line-size"), bad],
    ] {
        let out = Command::new(example())
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: decode"), "{args:?}: {stderr}");
    }
}
