// A tutorial-style Express SSE server (res.write("id: ...\ndata: ...\n\n")) for the
// client tests in tests/client_real.rs. Usage: node express_server.mjs PORT
// Every route is stateless: what it sends depends on the Last-Event-ID it receives,
// so a killed and restarted server carries on where the client left off.
import express from "express";

const app = express();
const port = Number(process.argv[2] ?? 3000);

function lastId(req) {
  return Number(req.get("Last-Event-ID") ?? 0);
}

function startStream(res) {
  res.setHeader("Content-Type", "text/event-stream");
  res.setHeader("Cache-Control", "no-cache");
  res.setHeader("Connection", "keep-alive");
  res.flushHeaders();
}

// ids 1..total, one every `interval` ms, then the body ends; once the client has them
// all, 204 tells it to stop.
app.get("/events", (req, res) => {
  const total = Number(req.query.total ?? 20);
  const interval = Number(req.query.interval ?? 10);
  let id = lastId(req);
  if (id >= total) {
    res.status(204).end();
    return;
  }
  startStream(res);
  res.write("retry: 100\n\n");
  const timer = setInterval(() => {
    id += 1;
    res.write(`id: ${id}\ndata: event ${id}\n\n`);
    if (id >= total) {
      clearInterval(timer);
      res.end();
    }
  }, interval);
  req.on("close", () => clearInterval(timer));
});

app.get("/204", (req, res) => res.status(204).end());

app.get("/status/:code", (req, res) => {
  res.status(Number(req.params.code)).type("text/plain").send(`status ${req.params.code}`);
});

// First a 503 with Retry-After: 1, then a short stream.
let busyHits = 0;
app.get("/busy", (req, res) => {
  busyHits += 1;
  if (busyHits === 1) {
    res.status(503).set("Retry-After", "1").type("text/plain").send("busy");
    return;
  }
  res.redirect(307, "/events?total=2");
});

app.get("/redirect", (req, res) => res.redirect(302, "/events?total=3"));

app.get("/html", (req, res) => res.type("html").send("<p>not a stream</p>"));

// A different retry: on each connection.
app.get("/retry", (req, res) => {
  const id = lastId(req);
  if (id >= 2) {
    res.status(204).end();
    return;
  }
  startStream(res);
  res.write(`retry: ${id === 0 ? 300 : 700}\n\n`);
  res.write(`id: ${id + 1}\ndata: ${id === 0 ? "a" : "b"}\n\n`);
  res.end();
});

// One event, then silence (no keep-alive) until the client gives up on it.
app.get("/idle", (req, res) => {
  if (lastId(req) >= 1) {
    res.status(204).end();
    return;
  }
  startStream(res);
  res.write("id: 1\ndata: hello\n\n");
});

// Two events, one byte at a time.
app.get("/trickle", (req, res) => {
  if (lastId(req) >= 2) {
    res.status(204).end();
    return;
  }
  startStream(res);
  const text = "id: 1\ndata: one\ndata: two\n\nid: 2\nevent: tick\ndata: x\r\n\r\n";
  let i = 0;
  const timer = setInterval(() => {
    res.write(text[i]);
    i += 1;
    if (i === text.length) {
      clearInterval(timer);
      res.end();
    }
  }, 2);
  req.on("close", () => clearInterval(timer));
});

// A 100 MiB data line, then a normal event.
app.get("/huge", async (req, res) => {
  if (lastId(req) >= 1) {
    res.status(204).end();
    return;
  }
  startStream(res);
  res.write("data: ");
  const chunk = Buffer.alloc(64 * 1024, "x");
  for (let i = 0; i < 1600; i++) {
    if (!res.write(chunk)) {
      await new Promise((resolve) => res.once("drain", resolve));
    }
  }
  res.write("\n\nid: 1\ndata: after\n\n");
  res.end();
});

app.listen(port, "127.0.0.1", () => console.log(`listening ${port}`));
