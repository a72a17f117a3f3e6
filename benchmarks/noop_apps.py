"""The baselines of benchmarks/collector.py: what serving the same requests costs with nothing else.

- `bare`: a raw ASGI app that reads the whole body and answers a fixed small JSON.
- `starlette_noop`: one Starlette route that `await request.json()`s the body and answers the
  event ids it carried; no validation, no token check, no storage.

Served by uvicorn exactly like the collector (one process, same uvicorn install, no access log).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

_ANSWER = b'{"accepted":[],"rejected":[]}'


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_ANSWER)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _ANSWER})


async def _events(request: Request) -> Response:
    body = await request.json()
    return JSONResponse({"accepted": [event["event_id"] for event in body["events"]]})


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


starlette_noop = Starlette(
    routes=[Route("/v1/events", _events, methods=["POST"]), Route("/healthz", _healthz)]
)
