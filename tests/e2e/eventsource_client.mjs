// Reads an SSE endpoint with the npm `eventsource` package (v4, the WHATWG EventSource
// for Node) and prints what it received, for ssewire's end-to-end tests.
//
// Usage: node eventsource_client.mjs '<job JSON>'
//
// Job: {
//   url, types: ["greeting", ...],   // named types to listen to (besides "message")
//   doneType: "done",                // close when an event of this type arrives
//   lingerAfterCloseMs: 0,           // when the client closes itself (HTTP 204), wait this long
//   timeoutMs: 20000
// }
//
// Prints one JSON line: {events, opens, errors, readyState} and exits 0; on timeout it
// prints the same with "error" and exits 1.

import { EventSource } from "eventsource";

const job = JSON.parse(process.argv[2] ?? "{}");
const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);
const log = { events: [], opens: [], errors: [] };

const es = new EventSource(job.url);
let finished = false;

function finish(error) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  es.close();
  const out = { ...log, readyState: es.readyState };
  if (error) out.error = error;
  // Exit only once the line is out: stdout to a pipe is asynchronous, and a
  // process.exit() right after the write would cut a long line short.
  process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(error ? 1 : 0));
}

function record(e) {
  log.events.push({ type: e.type, data: e.data, lastEventId: e.lastEventId, t: now() });
  if (e.type === (job.doneType ?? "done")) finish();
}

es.onmessage = record;
for (const type of job.types ?? []) es.addEventListener(type, record);
es.onopen = () => log.opens.push({ t: now() });
es.onerror = (e) => {
  log.errors.push({ t: now(), readyState: es.readyState, code: e.code ?? null, message: e.message ?? null });
  if (es.readyState === es.CLOSED) {
    setTimeout(() => finish(), job.lingerAfterCloseMs ?? 0);
  }
};

const timer = setTimeout(() => finish(`timed out after ${job.timeoutMs ?? 20000} ms`), job.timeoutMs ?? 20000);
