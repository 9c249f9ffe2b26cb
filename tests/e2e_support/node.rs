//! Running a Node driver script of `tests/e2e/` and reading its JSON answer.

use super::*;

/// A running `node tests/e2e/<script>` whose JSON lines are read as they come.
pub struct NodeRun {
    script: String,
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl NodeRun {
    /// Starts `node tests/e2e/<script> '<job>'`.
    pub fn spawn(script: &str, job: &Value) -> NodeRun {
        let node = node();
        let mut child = Command::new(&node)
            .arg(Path::new(E2E_DIR).join(script))
            .arg(job.to_string())
            .current_dir(E2E_DIR)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {node} {script}: {e}\n{INSTALL_HINT}"));
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err_pipe.read_to_string(&mut text);
            lock(&sink).push_str(&text);
        });
        NodeRun {
            script: script.to_owned(),
            child,
            lines,
            stderr,
        }
    }

    /// The next JSON line. Panics (with the script's stderr) if the script reports an
    /// error, exits, or says nothing for `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Value {
        let line = match tokio::time::timeout(timeout, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => {
                let status = self.child.wait().ok();
                std::thread::sleep(Duration::from_millis(100)); // let stderr drain
                let stderr = lock(&self.stderr).clone();
                panic!(
                    "{} exited ({status:?}) without the expected output; stderr:\n{stderr}",
                    self.script
                )
            }
            Err(_) => {
                let stderr = lock(&self.stderr).clone();
                panic!(
                    "{} said nothing for {timeout:?}; stderr so far:\n{stderr}",
                    self.script
                )
            }
        };
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "{} printed a line that is not JSON ({e}): {line}",
                self.script
            )
        });
        if let Some(error) = value.get("error") {
            let stderr = lock(&self.stderr).clone();
            panic!(
                "{} failed: {}\nwhat it had seen: {}\nstderr:\n{stderr}",
                self.script,
                error.as_str().unwrap_or_default(),
                shorten(&value),
            );
        }
        value
    }

    /// The last line, after which the script must exit successfully.
    pub async fn finish(mut self, timeout: Duration) -> Value {
        let value = self.next(timeout).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(status.success(), "{} exited with {status}", self.script);
                    return value;
                }
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => panic!("{} did not exit: {other:?}", self.script),
            }
        }
    }
}

impl Drop for NodeRun {
    fn drop(&mut self) {
        // Only our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a script that prints one JSON line and exits.
pub async fn run_node(script: &str, job: Value, timeout: Duration) -> Value {
    NodeRun::spawn(script, &job).finish(timeout).await
}

/// A JSON value for a panic message, with long strings cut.
pub fn shorten(value: &Value) -> String {
    fn cut(v: &Value) -> Value {
        match v {
            Value::String(s) if s.len() > 200 => {
                let end = (0..=200)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                Value::String(format!("{}… ({} bytes)", &s[..end], s.len()))
            }
            Value::Array(a) => Value::Array(a.iter().map(cut).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), cut(v))).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&cut(value)).unwrap_or_default()
}
