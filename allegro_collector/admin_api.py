"""`GET /v1/events`: read stored events back, for operators and tests; Bearer admin key."""

from __future__ import annotations

import functools
import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from allegro_collector.errors import ApiError
from allegro_collector.settings import Settings
from allegro_collector.store import Store
from allegro_sdk.core.protocol import EVENTS_PATH

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def authorize(request: Request, admin_key: str | None) -> None:
    """With no admin key configured nothing is authorized: there is no open default."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if (
        admin_key is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(given.strip().encode(), admin_key.encode())
    ):
        raise ApiError(401, "a valid admin key is required", None, {"WWW-Authenticate": "Bearer"})


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_LIMIT):
        raise ApiError(400, f"must be an integer from 1 to {MAX_LIMIT}", "limit")
    return int(raw)


async def list_events(request: Request, *, settings: Settings, store: Store) -> Response:
    authorize(request, settings.admin_key)
    params = request.query_params
    limit = _limit(params.get("limit"))
    events = await run_in_threadpool(
        store.list_events,
        params.get("session_id") or None,
        params.get("device_id") or None,
        limit,
    )
    return JSONResponse({"events": events})


def routes(settings: Settings, store: Store) -> list[Route]:
    endpoint = functools.partial(list_events, settings=settings, store=store)
    return [Route(EVENTS_PATH, endpoint, methods=["GET"])]
