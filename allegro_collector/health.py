"""`GET /healthz`: ok once the database is open."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from allegro_collector.errors import error_body
from allegro_collector.store import Store


async def healthz(request: Request, *, store: Store) -> Response:
    if not store.is_open:
        return JSONResponse(error_body(None, "the database is not open"), 503)
    return JSONResponse({"status": "ok"})


def routes(store: Store) -> list[Route]:
    return [Route("/healthz", functools.partial(healthz, store=store), methods=["GET"])]
