// Drives Debian's headless Chromium with playwright-core for ssewire's end-to-end tests.
//
// Usage: node chromium.mjs '<job JSON>'
//
// Job: {
//   chromium: "/usr/bin/chromium",      // the browser binary (Playwright never downloads one)
//   url: "http://127.0.0.1:PORT/page?...",
//   ignoreCertificateErrors: false,       // for the self-signed HTTPS (HTTP/2) server
//   steps: [{ name, waitFor: "<JS expression>", timeoutMs, screenshot?: "<png path>" }],
//   result: "<JS expression>",          // evaluated in the page at the end
//   lingerMs: 0                          // stay on the page this long after the last step
// }
//
// Writes one JSON line per finished step ({"step": name, "value": <waitFor's value>}),
// then {"result": ..., "responses": [...], "console": [...]}; on failure
// {"error": "...", "state": <result expression, if it can still be read>} and exit code 1.
// The Rust side reads the lines as they come, so it can act between steps (restart a
// server, for example).

import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";

const job = JSON.parse(process.argv[2] ?? "{}");
// Resolves once the line is out (stdout to a pipe is asynchronous: exiting before
// the write completes would cut a long line short).
const emit = (obj) => new Promise((resolve) => process.stdout.write(JSON.stringify(obj) + "\n", resolve));

// The flags this machine's Chromium needs (see the README): without the
// background-networking ones, Chromium keeps trying to reach Google's hosts.
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
if (job.ignoreCertificateErrors) args.push("--ignore-certificate-errors");

const userDataDir = mkdtempSync(join(tmpdir(), "ssewire-chromium-"));
let context;
let page;
const consoleLines = [];
const responses = [];
let exitCode = 0;

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: job.chromium ?? "/usr/bin/chromium",
    headless: true,
    args,
    ignoreHTTPSErrors: Boolean(job.ignoreCertificateErrors),
    viewport: { width: 1000, height: 760 },
    timeout: 30_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.on("response", async (r) => {
    const request = r.request();
    if (request.resourceType() !== "eventsource") return;
    try {
      responses.push({
        url: r.url(),
        status: r.status(),
        headers: await r.allHeaders(),
        requestHeaders: await request.allHeaders(),
      });
    } catch (e) {
      responses.push({ url: r.url(), status: r.status(), error: String(e) });
    }
  });

  await page.goto(job.url, { waitUntil: "load", timeout: 15_000 });
  for (const step of job.steps ?? []) {
    const handle = await page.waitForFunction(step.waitFor, null, {
      timeout: step.timeoutMs ?? 10_000,
      polling: 50,
    });
    const value = await handle.jsonValue();
    if (step.screenshot) {
      mkdirSync(dirname(step.screenshot), { recursive: true });
      await page.screenshot({ path: step.screenshot, fullPage: true });
    }
    await emit({ step: step.name, value });
  }
  if (job.lingerMs) await page.waitForTimeout(job.lingerMs);
  const result = job.result ? await page.evaluate(job.result) : null;
  await emit({ result, responses, console: consoleLines });
} catch (e) {
  let state = null;
  try {
    if (page && job.result) state = await page.evaluate(job.result);
  } catch {
    // The page is gone; the error says why.
  }
  await emit({ error: String(e && e.stack ? e.stack : e), state, responses, console: consoleLines });
  exitCode = 1;
} finally {
  try {
    await context?.close();
  } catch {
    // Closing a crashed browser can fail; the profile is removed below anyway.
  }
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(exitCode);
