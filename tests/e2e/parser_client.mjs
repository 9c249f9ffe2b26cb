// Reads an SSE endpoint with Node's fetch and parses it with `eventsource-parser` (v3),
// reconnecting the way the spec says a client should: after the stream ends (cleanly or
// not), wait the last `retry` (3000 ms by default), then ask again with `Last-Event-ID`
// set to the last id seen. Prints what it received, for ssewire's end-to-end tests.
//
// Usage: node parser_client.mjs '<job JSON>'
//
// Job: { url, doneType: "done", maxConnections: 10, timeoutMs: 20000 }
//
// Prints one JSON line: {events, comments, retries, connections, parseErrors} and exits 0;
// on timeout or too many connections it prints the same with "error" and exits 1.
// `events` are what the parser's onEvent gave: {event, id, data} (event and id are null
// when the block had no such field).

import { createParser } from "eventsource-parser";

const job = JSON.parse(process.argv[2] ?? "{}");
const doneType = job.doneType ?? "done";
const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);
const log = { events: [], comments: [], retries: [], connections: [], parseErrors: [] };

let retryMs = 3000;
let lastEventId = null;
let done = false;

const parser = createParser({
  onEvent(e) {
    log.events.push({ event: e.event ?? null, id: e.id ?? null, data: e.data, t: now() });
    if (e.id !== undefined) lastEventId = e.id;
    if ((e.event ?? "message") === doneType) done = true;
  },
  onComment(c) {
    log.comments.push(c);
  },
  onRetry(ms) {
    log.retries.push(ms);
    retryMs = ms;
  },
  onError(err) {
    log.parseErrors.push(String(err));
  },
});

let finished = false;
function finish(error) {
  if (finished) return;
  finished = true;
  const out = { ...log };
  if (error) out.error = error;
  // Exit only once the line is out: stdout to a pipe is asynchronous, and a
  // process.exit() right after the write would cut a long line short.
  process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(error ? 1 : 0));
}

setTimeout(() => finish(`timed out after ${job.timeoutMs ?? 20000} ms`), job.timeoutMs ?? 20000);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let n = 0; !done; n++) {
  if (n >= (job.maxConnections ?? 10)) {
    finish(`gave up after ${n} connections`);
    break;
  }
  const headers = { Accept: "text/event-stream" };
  // Only ASCII ids can go in a fetch header; the Rust side checks that it asked for none else.
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  const conn = { t: now(), lastEventId, status: null, contentType: null, end: null };
  log.connections.push(conn);
  const controller = new AbortController();
  try {
    const res = await fetch(job.url, { headers, signal: controller.signal });
    conn.status = res.status;
    conn.contentType = res.headers.get("content-type");
    conn.headers = Object.fromEntries(res.headers);
    if (res.status !== 200) {
      conn.end = "status";
      break;
    }
    parser.reset();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done: eof } = await reader.read();
      if (eof) {
        conn.end = "eof";
        break;
      }
      parser.feed(value);
      if (done) {
        conn.end = "done";
        controller.abort();
        break;
      }
    }
  } catch (e) {
    conn.end = `error: ${e && e.cause ? e.cause.code ?? e.cause : e}`;
  }
  if (!done) await sleep(retryMs);
}
if (!finished) finish();
