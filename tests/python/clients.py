"""Reads an event stream with a Python SSE client from PyPI and prints what it reports.

Usage: python clients.py '<job JSON>'

Job: {
  "client": "httpx-sse" | "sseclient-py",
  "url": "http://127.0.0.1:PORT/path",     # read a real server, or
  "raw": ["chunk", ...],                    # feed these chunks (UTF-8) instead
  "stop_type": "done",                      # stop after an event of this type (optional)
  "timeout": 30                             # seconds without a byte before giving up
}

Prints one JSON line: {"events": [{"type", "data", "id", "retry"}, ...], "end": "stop" |
"eof"}, each field exactly as the library reports it (sseclient-py's id and retry
are strings or null, httpx-sse's id is the persistent last event id and retry an
int or null). On failure: {"error": "..."} and exit code 1.

Both libraries are used as their READMEs show; HTTP is httpx in both cases (sseclient-py
takes any iterable of byte chunks with a close()).
"""

import json
import sys
import traceback

import httpx
import httpx_sse
import sseclient


class _Chunks:
    """Byte chunks with a close(), what sseclient-py reads from."""

    def __init__(self, chunks, close=lambda: None):
        self._chunks = chunks
        self._close = close

    def __iter__(self):
        return iter(self._chunks)

    def close(self):
        self._close()


def _record(events, event_type, data, event_id, retry):
    events.append({"type": event_type, "data": data, "id": event_id, "retry": retry})


def _httpx_sse(job, client, events):
    stop = job.get("stop_type")
    with httpx_sse.connect_sse(client, "GET", job.get("url", "http://raw.invalid/")) as source:
        for sse in source.iter_sse():
            _record(events, sse.event, sse.data, sse.id, sse.retry)
            if stop is not None and sse.event == stop:
                return "stop"
    return "eof"


def _sseclient_py(job, client, events):
    stop = job.get("stop_type")
    if "raw" in job:
        source = _Chunks([c.encode("utf-8") for c in job["raw"]])
        return _sseclient_events(source, stop, events)
    with client.stream("GET", job["url"], headers={"Accept": "text/event-stream"}) as response:
        response.raise_for_status()
        source = _Chunks(response.iter_bytes(), response.close)
        return _sseclient_events(source, stop, events)


def _sseclient_events(source, stop, events):
    for event in sseclient.SSEClient(source).events():
        _record(events, event.event, event.data, event.id, event.retry)
        if stop is not None and event.event == stop:
            return "stop"
    return "eof"


def main():
    job = json.loads(sys.argv[1])
    events = []
    timeout = httpx.Timeout(job.get("timeout", 30))
    transport = None
    if "raw" in job:
        chunks = [c.encode("utf-8") for c in job["raw"]]

        def handler(request):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=iter(chunks)
            )

        transport = httpx.MockTransport(handler)
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            if job["client"] == "httpx-sse":
                end = _httpx_sse(job, client, events)
            elif job["client"] == "sseclient-py":
                end = _sseclient_py(job, client, events)
            else:
                raise ValueError(f"unknown client {job['client']!r}")
    except Exception as e:  # report, with what was seen so far
        print(json.dumps({"error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}",
                          "events": events}), flush=True)
        sys.exit(1)
    print(json.dumps({"events": events, "end": end}), flush=True)


if __name__ == "__main__":
    main()
