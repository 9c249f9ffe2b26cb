"""An sse-starlette server for the client tests in tests/client_real.rs.

Run: uvicorn client_server:app --port PORT (from tests/python, in .venv).
The routes mirror tests/e2e/express_server.mjs; each is stateless (it reads
Last-Event-ID), so a killed and restarted server carries on where the client left off.
sse-starlette ends its lines with CRLF.
"""

import asyncio

from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

NO_PING = 3600


def last_id(request):
    return int(request.headers.get("last-event-id", "0"))


async def events(request):
    total = int(request.query_params.get("total", "20"))
    interval = int(request.query_params.get("interval", "10")) / 1000
    start = last_id(request)
    if start >= total:
        return Response(status_code=204)

    async def gen():
        yield ServerSentEvent(retry=100)
        for i in range(start + 1, total + 1):
            await asyncio.sleep(interval)
            yield ServerSentEvent(data=f"event {i}", id=str(i))

    return EventSourceResponse(gen(), ping=NO_PING)


async def no_content(request):
    return Response(status_code=204)


async def status(request):
    code = int(request.path_params["code"])
    return PlainTextResponse(f"status {code}", status_code=code)


busy_hits = 0


async def busy(request):
    global busy_hits
    busy_hits += 1
    if busy_hits == 1:
        return PlainTextResponse("busy", status_code=503, headers={"Retry-After": "1"})
    return RedirectResponse("/events?total=2", status_code=307)


async def redirect(request):
    return RedirectResponse("/events?total=3", status_code=302)


async def html(request):
    return HTMLResponse("<p>not a stream</p>")


async def retry(request):
    start = last_id(request)
    if start >= 2:
        return Response(status_code=204)

    async def gen():
        yield ServerSentEvent(retry=300 if start == 0 else 700)
        yield ServerSentEvent(data="a" if start == 0 else "b", id=str(start + 1))

    return EventSourceResponse(gen(), ping=NO_PING)


async def idle(request):
    if last_id(request) >= 1:
        return Response(status_code=204)

    async def gen():
        yield ServerSentEvent(data="hello", id="1")
        await asyncio.sleep(3600)

    return EventSourceResponse(gen(), ping=NO_PING)


async def trickle(request):
    if last_id(request) >= 2:
        return Response(status_code=204)
    text = b"id: 1\ndata: one\ndata: two\n\nid: 2\nevent: tick\ndata: x\r\n\r\n"

    async def gen():
        for i in range(len(text)):
            await asyncio.sleep(0.002)
            yield text[i : i + 1]

    return EventSourceResponse(gen(), ping=NO_PING)


async def huge(request):
    if last_id(request) >= 1:
        return Response(status_code=204)
    chunk = b"x" * (64 * 1024)

    async def gen():
        yield b"data: "
        for _ in range(1600):
            yield chunk
        yield b"\n\nid: 1\ndata: after\n\n"

    return EventSourceResponse(gen(), ping=NO_PING)


app = Starlette(
    routes=[
        Route("/events", events),
        Route("/204", no_content),
        Route("/status/{code:int}", status),
        Route("/busy", busy),
        Route("/redirect", redirect),
        Route("/html", html),
        Route("/retry", retry),
        Route("/idle", idle),
        Route("/trickle", trickle),
        Route("/huge", huge),
    ]
)
