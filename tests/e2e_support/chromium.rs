//! Chromium: the job for `tests/e2e/chromium.mjs` and the recorder page.

use super::*;

/// The job for `tests/e2e/chromium.mjs` that opens `url` and waits for `wait_for`.
pub fn chromium_job(url: &str, wait_for: &str, timeout: Duration, tls: bool) -> Value {
    json!({
        "chromium": chromium(),
        "url": url,
        "ignoreCertificateErrors": tls,
        "steps": [{ "name": "wait", "waitFor": wait_for, "timeoutMs": timeout.as_millis() as u64 }],
        "result": "({ ...window.__sse, readyState: window.__es.readyState, \
                   protocol: (performance.getEntriesByType('navigation')[0] || {}).nextHopProtocol })",
    })
}

/// The page the browser tests load: opens an `EventSource` on `src` and records every
/// event, open and error in `window.__sse`.
pub const RECORDER_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ssewire recorder</title></head>
<body>
<p>Recording <code id="src"></code></p>
<script>
"use strict";
const q = new URLSearchParams(location.search);
const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);
const log = (window.__sse = { events: [], opens: [], errors: [], done: false });
document.getElementById("src").textContent = q.get("src");
const es = (window.__es = new EventSource(q.get("src")));
function record(e) {
  log.events.push({ type: e.type, data: e.data, lastEventId: e.lastEventId, t: now() });
  if (e.type === "done") {
    es.close();
    log.done = true;
  }
}
es.addEventListener("message", record);
for (const type of (q.get("types") || "").split(",")) {
  if (type && type !== "message") es.addEventListener(type, record);
}
es.onopen = () => log.opens.push({ t: now() });
es.onerror = () => log.errors.push({ t: now(), readyState: es.readyState });
</script>
</body>
</html>
"#;
