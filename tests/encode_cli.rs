//! `examples/encode.rs`, run as a program: its error handling, and its output read by
//! two independent SSE parsers from npm (`eventsource-parser` and the `eventsource`
//! client, through `tests/e2e/check_wire.mjs`).
//!
//! The example is built once per test run with `cargo build --example encode
//! --message-format=json` (the cargo that runs the tests, `$CARGO`), which is a no-op
//! when it is up to date and gives the exact path of the executable; cargo only sets
//! `CARGO_BIN_EXE_*` for binaries, not for examples.
//!
//! The interop test needs Node.js 20 or newer and the pinned npm packages of
//! `tests/e2e/package-lock.json`; it runs `npm ci --prefix tests/e2e` itself when they
//! are missing. Without Node, or when the install fails, it fails (it never skips).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

mod example_support;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Held while starting a process. A process started by another test thread gets a
/// copy of every open pipe end until it calls `exec`; on a busy machine that can be
/// long enough to keep a pipe we closed open. Taking this lock around `spawn` (and,
/// where a test closes a pipe on purpose, until it has closed it) rules that out.
static SPAWN: Mutex<()> = Mutex::new(());

fn spawn(command: &mut Command) -> Child {
    let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"))
}

/// `command.output()`, started under the [`SPAWN`] lock.
fn output_of(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    spawn(command).wait_with_output().unwrap()
}

/// Path of the `encode` example, built if needed.
fn encode_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        example_support::build_example("encode", &[], |command| {
            spawn(command).wait_with_output().unwrap()
        })
    })
}

/// Runs the example with `input` on stdin.
fn encode(input: &[u8]) -> Output {
    let mut child = spawn(
        Command::new(encode_exe())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Write from another thread: the child's output pipes fill while we write.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer
        .join()
        .unwrap()
        .expect("writing to the example's stdin");
    output
}

fn lines(values: &[Value]) -> Vec<u8> {
    let mut input = Vec::new();
    for value in values {
        input.extend_from_slice(value.to_string().as_bytes());
        input.push(b'\n');
    }
    input
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stderr.clone())
        .expect("stderr is UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

// ---- the command line ---------------------------------------------------------------

#[test]
fn valid_lines_give_exact_bytes_and_exit_zero() {
    let input = [
        r#"{"data":"hello"}"#,
        r#"{"data":""}"#,
        r#"{}"#,
        r#"{"comment":"two\nlines","retry":2500,"id":"","event":"e","data":"a\r\nb\n"}"#,
        r#"  {"id":"7"}  "#,
    ]
    .join("\r\n"); // CRLF line ends and no final line end are fine too
    let output = encode(input.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "data: hello\n\n\
         data: \n\n\
         \n\
         event: e\nid: \nretry: 2500\n: two\n: lines\ndata: a\ndata: b\ndata: \n\n\
         id: 7\n\n"
    );
    assert_eq!(stderr_lines(&output), Vec::<String>::new());
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn empty_input_writes_nothing() {
    let output = encode(b"");
    assert!(output.stdout.is_empty());
    assert!(output.stderr.is_empty());
    assert_eq!(output.status.code(), Some(0));

    let output = encode(b"\n  \n\r\n");
    assert!(output.stdout.is_empty());
    assert!(output.stderr.is_empty());
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn bad_lines_are_reported_with_line_and_field_and_skipped() {
    let event_error = |e: ssewire::EventError| e.to_string();
    let id_lf = event_error(ssewire::EventId::new("a\nb").unwrap_err());
    let type_cr = event_error(ssewire::EventType::new("x\ry").unwrap_err());
    let id_nul = event_error(ssewire::EventId::new("nul\0").unwrap_err());
    // The EventError texts name the field; check that premise too.
    assert!(id_lf.contains("id") && type_cr.contains("event") && id_nul.contains("id"));

    let input: Vec<&[u8]> = vec![
        br#"{"data":"first"}"#,                          // 1 ok
        br#"{"id":"a\nb","data":"x"}"#,                  // 2 id with LF
        b"",                                             // 3 blank: skipped, counted
        br#"{"event":"x\ry","data":"y"}"#,               // 4 event with CR
        br#"{"id":"nul\u0000","data":"z"}"#,             // 5 id with NUL
        br#"{"data":5}"#,                                // 6
        br#"{"retry":-3}"#,                              // 7
        br#"{"retry":2.5}"#,                             // 8
        br#"{"retry":"100"}"#,                           // 9
        br#"{"comment":["a"]}"#,                         // 10
        br#"{"event":null,"data":"n"}"#,                 // 11
        br#"{"data":"a","data":"b"}"#,                   // 12
        br#"{"Data":"x"}"#,                              // 13
        br#"[1,2]"#,                                     // 14
        br#"{"data":"unterminated"#,                     // 15
        br#"{"data":"x"} {"data":"y"}"#,                 // 16
        b"{\"data\":\"not UTF-8: \xff\"}",               // 17
        br#"{"retry":100000000000000000000}"#,           // 18
        br#"{"id":"ok-2","data":"second"}"#,             // 19 ok
        br#"{"data":"last, without a final line end"}"#, // 20 ok
    ];
    let output = encode(&input.join(&b'\n'));

    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "data: first\n\n\
         id: ok-2\ndata: second\n\n\
         data: last, without a final line end\n\n",
        "only the valid lines reach stdout"
    );
    assert_eq!(output.status.code(), Some(1));

    let expected: Vec<(u32, String)> = vec![
        (2, id_lf),
        (4, type_cr),
        (5, id_nul),
        (6, "data: expected a string, found number 5".into()),
        (7, "retry: must not be negative, found -3".into()),
        (
            8,
            format!(
                "retry: expected a whole number of milliseconds from 0 to {}, found 2.5",
                u64::MAX
            ),
        ),
        (
            9,
            r#"retry: expected a whole number of milliseconds, found string "100""#.into(),
        ),
        (
            10,
            r#"comment: expected a string, found array ["a"]"#.into(),
        ),
        (11, "event: expected a string, found null".into()),
        (12, "data: the key appears more than once".into()),
        (
            13,
            r#"unknown key "Data" (the keys are "data", "event", "id", "retry" and "comment")"#
                .into(),
        ),
        (
            14,
            "expected a JSON object describing one event, found array [1,2]".into(),
        ),
        // serde_json's own wording follows the column; only the start is ours.
        (15, "malformed JSON at column 21: ".into()),
        (16, "malformed JSON at column 14: ".into()),
        (17, "malformed JSON at column ".into()),
        (
            18,
            format!(
                "retry: expected a whole number of milliseconds from 0 to {}, found 1e+20",
                u64::MAX
            ),
        ),
    ];
    let got = stderr_lines(&output);
    assert_eq!(
        got.len(),
        expected.len(),
        "one error line per bad line: {got:#?}"
    );
    for (line, (number, message)) in got.iter().zip(&expected) {
        let prefix = format!("line {number}: {message}");
        if message.ends_with(": ") || message.ends_with("column ") {
            assert!(
                line.starts_with(&prefix),
                "{line:?} should start with {prefix:?}"
            );
            assert!(line.len() > prefix.len(), "{line:?} says what is wrong");
        } else {
            assert_eq!(line, &prefix);
        }
    }
}

#[test]
fn each_event_is_written_before_the_next_line_arrives() {
    let mut child = spawn(
        Command::new(encode_exe())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => tx.send(buf[..n].to_vec()).unwrap(),
            }
        }
    });
    let mut received = Vec::new();
    for (i, expected) in [(1, "data: one\n\n"), (2, "data: two\n\n")] {
        let line = format!("{{\"data\":{:?}}}\n", &expected[6..expected.len() - 2]);
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
        received.clear();
        while received.len() < expected.len() {
            let chunk = rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("event {i} not written while stdin stays open"));
            received.extend_from_slice(&chunk);
        }
        assert_eq!(String::from_utf8_lossy(&received), expected);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    let exe = encode_exe();
    let guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new(exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the only reader of its stdout before the example writes anything, and
    // before another test can start a process that would inherit it.
    drop(child.stdout.take());
    drop(guard);
    let mut stdin = child.stdin.take().unwrap();
    // Ignore write errors: the example may exit before reading everything.
    let _ = stdin.write_all(&lines(&[json!({"data": "x"}), json!({"data": "y"})]));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.starts_with("encode: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---- interop with independent parsers -------------------------------------------------

/// The tricky events: every line is valid, so the example must write them all.
fn tricky_events() -> Vec<Value> {
    // 1 MiB on one line, ending with a two-byte character.
    let mut big = "0123456789abcdef".repeat(65_536 - 1);
    big.push_str("0123456789abcdé");
    assert_eq!(big.len(), 1 << 20);
    // 64 lines of 1 KiB joined by LF, CR and CRLF in turn.
    let breaks = ["\n", "\r", "\r\n"];
    let mut multi = String::new();
    for i in 0..64 {
        if i > 0 {
            multi.push_str(breaks[i % 3]);
        }
        multi.push_str(&format!("{i:04}").repeat(256));
    }
    vec![
        json!({"data": "hello"}),
        json!({"data": "lf\nline two\rcr line\r\ncrlf line"}),
        json!({"data": ""}),
        json!({"data": "trailing newline\n"}),
        json!({"data": "\n"}),
        json!({"data": "\r\n\r\n"}),
        json!({"data": "\r\r\n\n\r"}),
        json!({"data": "  two leading spaces\n leading space\n\tleading tab\ntrailing spaces  "}),
        json!({"data": "café ñ 日本語 Ελληνικά русский"}),
        json!({"data": "🎉 👩‍👩‍👧 🇳🇴 𝄞"}),
        json!({"data": "\u{feff}BOM first\nmiddle\u{feff}BOM\n\u{feff}"}),
        json!({"data": "nul\u{0}inside\u{0}"}),
        json!({"data": "\u{1}\u{7}\u{1b}[31m control \u{7f}\u{85}NEL\u{2028}LS\u{2029}PS"}),
        json!({"data": "data: not a field\nid: 99\nevent: nope\nretry: 1\n: not a comment\n\nafter a blank line"}),
        json!({"id": "42", "data": "numeric id"}),
        json!({"id": "order-7f3a", "data": "text id"}),
        json!({"id": "", "data": "empty id resets"}),
        json!({"id": "only-id"}),
        json!({"id": " spaced id\t", "data": "id with spaces"}),
        json!({"id": "ïd-ünïcode-🎉", "data": "non-ASCII id"}),
        json!({"id": "id: with colon", "data": "x"}),
        json!({"retry": 3000, "data": "with retry"}),
        json!({"retry": 0}),
        json!({"comment": "just a comment"}),
        json!({"comment": "multi\nline\r\ncomment\rhere"}),
        json!({"comment": ""}),
        json!({"comment": " leading space"}),
        json!({"comment": "comment with data", "data": "d"}),
        json!({"event": "tick", "data": "1"}),
        json!({"event": "message", "data": "explicit message type"}),
        json!({"event": "", "data": "empty event type"}),
        json!({"event": "ünïcode type 🎉", "data": "x"}),
        json!({"event": "  spaced type", "data": "x"}),
        json!({"event": "type: with colon", "data": "x"}),
        json!({"event": "no-data", "id": "nd"}),
        json!({}),
        json!({"event": "all", "id": "7", "retry": 1500, "comment": "everything", "data": "all fields"}),
        json!({"event": "big", "id": "big-1", "data": big}),
        json!({"event": "multi", "data": multi}),
        json!({"retry": 86_400_000u64, "data": "one day"}),
        // Last: an ASCII id (the `eventsource` client cannot send others back, see
        // `expected_eventsource`) and a short retry, so its reconnect comes quickly.
        json!({"id": "last-ascii-id", "retry": 5, "data": "the end"}),
    ]
}

/// One input line, as the test reads it (not through the crate).
struct Described {
    event: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    comment: Option<String>,
    data: Option<String>,
}

fn describe(value: &Value) -> Described {
    let text = |key: &str| value.get(key).map(|v| v.as_str().unwrap().to_owned());
    Described {
        event: text("event"),
        id: text("id"),
        retry: value.get("retry").map(|v| v.as_u64().unwrap()),
        comment: text("comment"),
        data: text("data"),
    }
}

/// CRLF and CR read back as LF.
fn lf_only(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// What `eventsource-parser` 3 calls back with, in order. Per event block (wire order
/// `event`, `id`, `retry`, comments, data): the retry, each comment line, then the event
/// if the block has data. Its `id` is the block's own `id` field (null without one) and
/// its `event` is null for no type or an empty one.
fn expected_parser_log(events: &[Described]) -> Vec<Value> {
    let mut log = Vec::new();
    for e in events {
        if let Some(retry) = e.retry {
            log.push(json!({"kind": "retry", "retry": retry}));
        }
        if let Some(comment) = &e.comment {
            for line in lf_only(comment).split('\n') {
                log.push(json!({"kind": "comment", "comment": line}));
            }
        }
        if let Some(data) = &e.data {
            let event = e.event.clone().filter(|t| !t.is_empty());
            log.push(json!({"kind": "event", "event": event, "id": e.id, "data": lf_only(data)}));
        }
    }
    log
}

/// What the `eventsource` 4 client dispatches, and the `Last-Event-ID` it sends back.
///
/// Where it departs from the WHATWG algorithm (which a browser follows), the
/// expectation follows the client: its `lastEventId` is the event's own `id` field
/// (or `""`), not the id remembered from earlier events, and an `id` in a block
/// without data is forgotten. On Node 20 it sends the reconnect header through
/// `fetch`, which takes only Latin-1 strings: an id with a character above U+00FF
/// makes every reconnect fail, and one with a character from U+0080 to U+00FF is sent
/// as Latin-1, not UTF-8. That is why the last id of the tricky set is ASCII.
fn expected_eventsource(events: &[Described]) -> (Vec<Value>, Option<String>) {
    let mut dispatched = Vec::new();
    let mut last_id: Option<&str> = None;
    for e in events {
        if let Some(data) = &e.data {
            let event_type = e.event.as_deref().filter(|t| !t.is_empty());
            dispatched.push(json!({
                "type": event_type.unwrap_or("message"),
                "data": lf_only(data),
                "lastEventId": e.id.as_deref().unwrap_or(""),
            }));
            if let Some(id) = &e.id {
                last_id = Some(id);
            }
        }
    }
    let header = last_id.filter(|id| !id.is_empty()).map(str::to_owned);
    (dispatched, header)
}

/// Compares logs entry by entry, printing only a short part of long values.
fn assert_same_log(what: &str, got: &[Value], expected: &[Value]) {
    fn short(v: &Value) -> String {
        let s = v.to_string();
        if s.len() > 300 {
            let cut = (0..=300).rev().find(|&i| s.is_char_boundary(i)).unwrap();
            format!("{}... ({} bytes)", &s[..cut], s.len())
        } else {
            s
        }
    }
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            g == e,
            "{what}: entry {i} differs\n   got: {}\nexpected: {}",
            short(g),
            short(e)
        );
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "{what}: {} entries, expected {}; first extra: {:?}",
        got.len(),
        expected.len(),
        got.get(expected.len())
            .or(expected.get(got.len()))
            .map(short)
    );
}

/// Fails, saying how to install them, unless Node 20+ and the pinned packages are here.
fn require_node_and_packages() -> PathBuf {
    let dir = Path::new(MANIFEST_DIR).join("e2e");
    let install = "install Node.js 20 or newer, then run `npm ci --prefix tests/e2e` \
                   in the repository root";
    let started = {
        let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
        Command::new("node")
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    let version = match started {
        Err(err) => panic!("`node` was not found on PATH ({err}); {install}"),
        Ok(child) => {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "`node --version` failed ({}); {install}",
                out.status
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "node {version} is too old for eventsource 4; {install}"
    );

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("package.json")).unwrap()).unwrap();
    let deps = manifest["dependencies"].as_object().unwrap();
    let missing = deps.keys().any(|name| {
        !dir.join("node_modules")
            .join(name)
            .join("package.json")
            .exists()
    });
    if missing {
        // A fresh checkout: install the exact versions of package-lock.json, so that
        // `cargo test` alone is enough (npm is part of every Node installation).
        let status = {
            let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .stdin(Stdio::null())
                .status()
        };
        match status {
            Ok(s) if s.success() => {}
            other => panic!("`npm ci --prefix tests/e2e` failed ({other:?}); {install}"),
        }
    }
    for (name, pinned) in deps {
        let installed = dir.join("node_modules").join(name).join("package.json");
        let Ok(text) = std::fs::read(&installed) else {
            panic!("npm package {name} is not installed in tests/e2e/node_modules; run `npm ci --prefix tests/e2e`");
        };
        let installed: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            &installed["version"], pinned,
            "tests/e2e/node_modules has {name} {}, package.json pins {pinned}; run `npm ci --prefix tests/e2e`",
            installed["version"]
        );
    }
    dir
}

#[test]
fn output_parses_the_same_in_eventsource_parser_and_eventsource() {
    let node_dir = require_node_and_packages();

    let events = tricky_events();
    let output = encode(&lines(&events));
    assert_eq!(
        stderr_lines(&output),
        Vec::<String>::new(),
        "every tricky line is valid"
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(!output.stdout.starts_with("\u{feff}".as_bytes()));

    let wire_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("encode_cli_tricky.sse");
    std::fs::write(&wire_path, &output.stdout).unwrap();
    let node = output_of(
        Command::new("node")
            .arg(node_dir.join("check_wire.mjs"))
            .arg(&wire_path),
    );
    assert!(
        node.status.success(),
        "check_wire.mjs failed ({}):\n{}",
        node.status,
        String::from_utf8_lossy(&node.stderr)
    );
    let seen: Value = serde_json::from_slice(&node.stdout).expect("check_wire.mjs prints JSON");

    let described: Vec<Described> = events.iter().map(describe).collect();

    let expected = expected_parser_log(&described);
    assert_eq!(
        expected.iter().filter(|e| e["kind"] == "event").count(),
        described.iter().filter(|d| d.data.is_some()).count()
    );
    assert_same_log(
        "eventsource-parser, whole",
        seen["parser"]["whole"].as_array().unwrap(),
        &expected,
    );
    for size in ["1", "2", "3", "7", "4096"] {
        assert_same_log(
            &format!("eventsource-parser, chunks of {size} bytes"),
            seen["parser"]["chunked"][size].as_array().unwrap(),
            &expected,
        );
    }

    let (dispatched, reconnect_id) = expected_eventsource(&described);
    let es = &seen["eventsource"];
    assert_same_log(
        "eventsource client",
        es["events"].as_array().unwrap(),
        &dispatched,
    );
    assert_eq!(
        es["requests"], 2,
        "one stream, then one reconnect (answered 204)"
    );
    let reconnect_hex =
        reconnect_id.map(|id| id.bytes().map(|b| format!("{b:02x}")).collect::<String>());
    assert_eq!(
        es["reconnectLastEventIdHex"].as_str(),
        reconnect_hex.as_deref(),
        "Last-Event-ID of the reconnect"
    );
}
