"""`GET /healthz`: 200 while the store is open and writing; 503 naming the store otherwise.

A store whose last write failed (locked by another process, disk full, read-only) is unhealthy
until a write succeeds again; while it is, each check tries a small write at most once a second,
so the check itself notices recovery even when no traffic reaches the collector.
"""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from allegro_collector.errors import error_body
from allegro_collector.store import Store


async def healthz(request: Request, *, store: Store, retry_after_seconds: int) -> Response:
    if not store.is_open:
        problem: str | None = "the database is not open"
    else:
        problem = await run_in_threadpool(store.write_failure)
    if problem is not None:
        body = {**error_body(None, f"{store.name} cannot write: {problem}"), "store": store.name}
        return JSONResponse(body, 503, headers={"Retry-After": str(retry_after_seconds)})
    return JSONResponse({"status": "ok"})


def routes(store: Store, retry_after_seconds: int) -> list[Route]:
    endpoint = functools.partial(healthz, store=store, retry_after_seconds=retry_after_seconds)
    return [Route("/healthz", endpoint, methods=["GET"])]
