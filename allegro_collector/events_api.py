"""`POST /v1/events`: a batch of events, each accepted or rejected on its own.

An event whose session or device differs from the CSRF token's is rejected by itself
(field `events.N.session_id` / `events.N.device_id`); its neighbours are still stored. So is an
event whose id another device stored first (`events.N.event_id`): ids are global, and a repeat is
acknowledged only to the device that sent the original.
A batch with events to store needs a place in the bounded ingest queue; when none is free it
is refused whole with 503 and `Retry-After`, before anything of it is written.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from allegro_collector import tokens
from allegro_collector.bodies import read_model
from allegro_collector.clock import Clock
from allegro_collector.errors import ApiError, error_body
from allegro_collector.ingest import IngestQueue, WriteGate
from allegro_collector.schemas import Event, EventBatch, first_error
from allegro_collector.settings import Settings
from allegro_collector.store import Store
from allegro_sdk.core.protocol import CSRF_HEADER, EVENTS_PATH, MAX_ID_CHARS

FOREIGN_ID = (
    "belongs to another device: an event with this id was stored for another device_id; "
    "make a new id for a new event"
)


def _rejection(index: int, raw: Any, field: str | None, message: str) -> dict[str, Any]:
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    if not isinstance(event_id, str) or len(event_id) > MAX_ID_CHARS or not event_id.isprintable():
        event_id = None
    return {"index": index, "event_id": event_id, **error_body(field, message)}


async def post_events(
    request: Request,
    *,
    settings: Settings,
    store: Store,
    clock: Clock,
    queue: IngestQueue,
    write_gate: WriteGate,
) -> Response:
    batch = await read_model(request, EventBatch, settings)
    now = clock()
    token = request.headers.get(CSRF_HEADER) or batch.csrf_token
    try:
        claims = tokens.verify(token, settings.verification_keys, now)
    except tokens.TokenError as exc:
        raise ApiError(403, exc.message, "csrf_token") from None

    valid: list[Event] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(batch.events):
        prefix = f"events.{index}"
        try:
            event = Event.model_validate(raw)
            claims.check_binding(event.session_id, event.device_id)
        except ValidationError as exc:
            rejected.append(_rejection(index, raw, *first_error(exc, prefix)))
        except tokens.TokenError as exc:
            wrong = (
                "session_id" if exc.problem is tokens.TokenProblem.WRONG_SESSION else "device_id"
            )
            rejected.append(_rejection(index, raw, f"{prefix}.{wrong}", exc.message))
        else:
            valid.append(event)

    foreign: frozenset[str] = frozenset()
    if valid:

        def write() -> frozenset[str]:
            write_gate()
            return store.store_events(valid, now, now + settings.session_lifetime_ms)

        with queue.slot():  # 503 when the queue is full; the slot is freed on every exit
            foreign = await run_in_threadpool(write)
    for index, raw in enumerate(batch.events):
        if isinstance(raw, dict) and raw.get("event_id") in foreign:
            rejected.append(_rejection(index, raw, f"events.{index}.event_id", FOREIGN_ID))
    rejected.sort(key=lambda rejection: int(rejection["index"]))
    accepted = list(dict.fromkeys(e.event_id for e in valid if e.event_id not in foreign))
    status = 200 if accepted or not batch.events else 422
    return JSONResponse({"accepted": accepted, "rejected": rejected}, status)


def routes(settings: Settings, store: Store, clock: Clock, write_gate: WriteGate) -> list[Route]:
    queue = IngestQueue(settings.max_pending_batches, settings.retry_after_seconds)
    endpoint = functools.partial(
        post_events,
        settings=settings,
        store=store,
        clock=clock,
        queue=queue,
        write_gate=write_gate,
    )
    return [Route(EVENTS_PATH, endpoint, methods=["POST"])]
