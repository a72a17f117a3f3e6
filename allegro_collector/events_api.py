"""`POST /v1/events`: a batch of events, each accepted or rejected on its own.

An event whose session or device differs from the CSRF token's is rejected by itself
(field `events.N.session_id` / `events.N.device_id`); its neighbours are still stored. So is an
event whose id another device stored first (`events.N.event_id`): ids are global, and a repeat is
acknowledged only to the device that sent the original.
Every request needs a place in the bounded ingest queue, taken before its body is read; when
none is free it is refused whole with 503 and `Retry-After` (nothing of it read or written).
Valid events are written by the group commit (`group_commit`) and acknowledged after its commit;
a group the store could not write answers 503 with `Retry-After` to every request in it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from allegro_collector import tokens
from allegro_collector.bodies import first_headers, parse_json, parse_model, read_body
from allegro_collector.clock import Clock
from allegro_collector.errors import ApiError, error_body
from allegro_collector.group_commit import GroupCommitter
from allegro_collector.ingest import IngestQueue
from allegro_collector.metrics import Metrics
from allegro_collector.schemas import (
    Event,
    EventBatch,
    FastEvent,
    ValidEvent,
    fast_batch,
    fast_envelope,
    fast_event,
    first_error,
)
from allegro_collector.settings import Settings
from allegro_collector.store import BatchWrite
from allegro_sdk.core.protocol import CSRF_HEADER, EVENTS_PATH, MAX_ID_CHARS

_ANSWER_ENCODER = msgspec.json.Encoder()
_CSRF_HEADER_NAME = CSRF_HEADER.lower().encode("latin-1")

FOREIGN_ID = (
    "belongs to another device: an event with this id was stored for another device_id; "
    "make a new id for a new event"
)


def _rejection(index: int, raw: Any, field: str | None, message: str) -> dict[str, Any]:
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    if not isinstance(event_id, str) or len(event_id) > MAX_ID_CHARS or not event_id.isprintable():
        event_id = None
    return {"index": index, "event_id": event_id, **error_body(field, message)}


def _slow_event(raw: msgspec.Raw, body: bytes) -> Any:
    """An event the fast path refused, as Python values for pydantic to name what is wrong."""
    try:
        return json.loads(bytes(raw))
    except (ValueError, RecursionError):
        parse_json(body)  # raises the 400 that names the body's problem
        raise ApiError(400, "request body is not valid JSON") from None


def _sort_events(
    raw_events: Sequence[Any], body: bytes, claims: tokens.TokenClaims, metrics: Metrics
) -> tuple[list[ValidEvent], list[int], list[dict[str, Any]]]:
    """Each event on its own: the valid ones (with their indexes), and a rejection naming the
    field for each of the others."""
    valid: list[ValidEvent] = []
    valid_at: list[int] = []  # the index of each valid event in the batch
    rejected: list[dict[str, Any]] = []
    for index, raw_event in enumerate(raw_events):
        prefix = f"events.{index}"
        raw = raw_event
        try:
            event: ValidEvent | None = None
            if isinstance(raw_event, FastEvent):
                event, raw = raw_event, {"event_id": raw_event.event_id}  # as below
            elif isinstance(raw_event, msgspec.Raw):
                event = fast_event(raw_event)
                if event is None:
                    raw = _slow_event(raw_event, body)
                else:
                    raw = {"event_id": event.event_id}  # echoed if its binding is refused
            if event is None:
                event = Event.model_validate(raw)
            claims.check_binding(event.session_id, event.device_id)
        except ValidationError as exc:
            metrics.events_refused.labels("invalid").inc()
            rejected.append(_rejection(index, raw, *first_error(exc, prefix)))
        except tokens.TokenError as exc:
            wrong = (
                "session_id" if exc.problem is tokens.TokenProblem.WRONG_SESSION else "device_id"
            )
            metrics.events_refused.labels(f"wrong_{wrong.removesuffix('_id')}").inc()
            rejected.append(_rejection(index, raw, f"{prefix}.{wrong}", exc.message))
        else:
            valid.append(event)
            valid_at.append(index)

    return valid, valid_at, rejected


async def post_events(
    request: Request,
    *,
    settings: Settings,
    clock: Clock,
    queue: IngestQueue,
    committer: GroupCommitter,
    metrics: Metrics,
) -> Response:
    # The place is taken before the body is read: a full queue costs next to nothing.
    await queue.enter()
    metrics.ingest_pending.inc()
    try:
        return await _take_batch(request, settings, clock, committer, metrics)
    finally:
        metrics.ingest_pending.dec()
        queue.leave()


async def _take_batch(
    request: Request,
    settings: Settings,
    clock: Clock,
    committer: GroupCommitter,
    metrics: Metrics,
) -> Response:
    headers = first_headers(request)
    body = await read_body(request, settings.max_body_bytes, settings.body_timeout_seconds, headers)
    # The fast path takes what it can prove valid; anything else gets pydantic's exact answer.
    raw_events: Sequence[Any]
    whole = fast_batch(body)  # every event valid: one decode for the batch
    if whole is not None:
        raw_events, csrf_token = whole.events, whole.csrf_token
    elif (envelope := fast_envelope(body)) is not None:
        raw_events, csrf_token = envelope.events, envelope.csrf_token
    else:
        batch = parse_model(body, EventBatch)
        raw_events, csrf_token = batch.events, batch.csrf_token
    now = clock()
    in_header = headers.get(_CSRF_HEADER_NAME)
    token = in_header.decode("latin-1") if in_header else csrf_token
    try:
        claims = tokens.verify(token, settings.verification_keys, now)
    except tokens.TokenError as exc:
        raise ApiError(403, exc.message, "csrf_token") from None

    if (
        whole is not None
        and {event.session_id for event in whole.events} <= {claims.session_id}
        and {event.device_id for event in whole.events} <= {claims.device_id}
    ):  # the usual batch: every event valid and the token's
        valid: list[ValidEvent] = list(whole.events)
        valid_at: Sequence[int] = range(len(valid))
        rejected: list[dict[str, Any]] = []
    else:
        valid, valid_at, rejected = _sort_events(raw_events, body, claims, metrics)

    foreign: frozenset[str] = frozenset()
    if valid:
        foreign = await committer.submit(BatchWrite(valid, now, now + settings.session_lifetime_ms))
    if foreign:
        for index, event in zip(valid_at, valid, strict=True):
            if event.event_id in foreign:
                metrics.events_refused.labels("foreign_id").inc()
                rejected.append(
                    _rejection(
                        index, {"event_id": event.event_id}, f"events.{index}.event_id", FOREIGN_ID
                    )
                )
        rejected.sort(key=lambda rejection: int(rejection["index"]))
    accepted = list(dict.fromkeys([e.event_id for e in valid if e.event_id not in foreign]))
    status = 200 if accepted or not raw_events else 422
    return JsonAnswer(_ANSWER_ENCODER.encode({"accepted": accepted, "rejected": rejected}), status)


class JsonAnswer(Response):
    """An answer already encoded as JSON, its two headers made directly: `Response` works
    them out in `init_headers`, a measurable part of answering one small batch."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def endpoint(
    settings: Settings, clock: Clock, committer: GroupCommitter, metrics: Metrics
) -> Callable[[Request], Awaitable[Response]]:
    """`post_events` bound to its collector, with its own ingest queue."""
    queue = IngestQueue(
        settings.max_pending_batches,
        settings.retry_after_seconds,
        metrics.batches_shed.inc,
        hold_seconds=settings.busy_hold_seconds,
    )
    return functools.partial(
        post_events,
        settings=settings,
        clock=clock,
        queue=queue,
        committer=committer,
        metrics=metrics,
    )


def routes(ingest: Callable[[Request], Awaitable[Response]]) -> list[Route]:
    """The route of `endpoint(...)` in the app (`ingest_route` serves it before the app)."""
    return [Route(EVENTS_PATH, ingest, methods=["POST"])]
