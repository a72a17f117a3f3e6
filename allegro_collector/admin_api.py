"""Operator reads, Bearer admin key: `GET /v1/events` (stored events back, for operators and
tests) and `GET /v1/stats` (what the stored events add up to, and delivery health)."""

from __future__ import annotations

import functools
import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from allegro_collector.clock import Clock
from allegro_collector.delivery_health import DeliveryHealth
from allegro_collector.errors import ApiError
from allegro_collector.event_filter import EventFilter
from allegro_collector.settings import Settings
from allegro_collector.store import Store
from allegro_sdk.core.protocol import EVENTS_PATH, MAX_TEXT_CHARS

STATS_PATH = "/v1/stats"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# The oldest `since` a stats request may ask for, before now: the dashboard needs a day.
MAX_STATS_SPAN_MS = 31 * 24 * 3600 * 1000


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


def _event_filter(request: Request) -> EventFilter:
    params = request.query_params
    for name, value in params.multi_items():
        if len(value) > MAX_TEXT_CHARS:
            raise ApiError(400, f"must be at most {MAX_TEXT_CHARS} characters", name)
    return EventFilter(
        session_id=params.get("session_id") or None,
        device_id=params.get("device_id") or None,
        event_name=params.get("event_name") or None,
        customer_id=params.get("customer_id") or None,
        exclude_contexts=tuple(c for c in params.getlist("exclude_context") if c),
    )


async def list_events(request: Request, *, settings: Settings, store: Store) -> Response:
    authorize(request, settings.admin_key)
    limit = _limit(request.query_params.get("limit"))
    filters = _event_filter(request)
    events = await run_in_threadpool(store.list_events, None, None, limit, filters)
    return JSONResponse({"events": events})


async def stats(
    request: Request,
    *,
    settings: Settings,
    store: Store,
    clock: Clock,
    health: DeliveryHealth,
) -> Response:
    authorize(request, settings.admin_key)
    now = clock()
    raw = request.query_params.get("since")
    if raw is None or not (raw.isascii() and raw.isdigit() and len(raw) <= 15):
        raise ApiError(400, "must be a time in epoch milliseconds", "since")
    since = int(raw)
    if not now - MAX_STATS_SPAN_MS <= since <= now:
        raise ApiError(400, "must be within the last 31 days, and not in the future", "since")
    figures = await run_in_threadpool(store.stats, since)
    return JSONResponse(
        {**figures, "now": now, "delivery": health.snapshot()},
        headers={"Cache-Control": "no-store"},
    )


def routes(settings: Settings, store: Store, clock: Clock, health: DeliveryHealth) -> list[Route]:
    events = functools.partial(list_events, settings=settings, store=store)
    figures = functools.partial(stats, settings=settings, store=store, clock=clock, health=health)
    return [
        Route(EVENTS_PATH, events, methods=["GET"]),
        Route(STATS_PATH, figures, methods=["GET"]),
    ]
