"""One device's data, for the people it is about (docs/privacy.md); Bearer admin key.

- `DELETE /v1/devices/{device_id}` erases every event and session of the device and answers the
  counts. The device is first marked erased (`Store.mark_erased`): for the erasure window (the
  SDK outbox's 7 days of retries, `--erasure-window-days`) its events are acknowledged and not
  stored, and no session of it is stored, so a browser's retries cannot bring back what was
  erased. Then its events are deleted in batches of `BATCH_ROWS` (short transactions: ingestion
  goes on between them) and its sessions. Repeating the request is harmless, and finishes an
  erasure a failing database interrupted (503).
- `GET /v1/devices/{device_id}/events` answers every stored event of the device as NDJSON, oldest
  first, like `GET /v1/events/export` (an access request).
"""

from __future__ import annotations

import asyncio
import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from allegro_collector.admin_api import authorize
from allegro_collector.clock import Clock
from allegro_collector.errors import ApiError
from allegro_collector.export_api import MEDIA_TYPE, ndjson_lines
from allegro_collector.retention import BATCH_ROWS
from allegro_collector.schemas import is_uuid_v4
from allegro_collector.settings import Settings
from allegro_collector.store import Store

DEVICE_PATH = "/v1/devices/{device_id}"
DEVICE_EVENTS_PATH = "/v1/devices/{device_id}/events"


def _device_id(request: Request) -> str:
    device_id: str = request.path_params["device_id"]
    if not is_uuid_v4(device_id):
        raise ApiError(400, "must be a lowercase UUID v4", "device_id")
    return device_id


async def erase_device(
    request: Request, *, settings: Settings, store: Store, clock: Clock
) -> Response:
    authorize(request, settings.admin_key)
    device_id = _device_id(request)
    erased_at = clock()
    await run_in_threadpool(store.mark_erased, device_id, erased_at)
    events = 0
    while True:
        count = await run_in_threadpool(store.delete_device_events, device_id, BATCH_ROWS)
        events += count
        if count < BATCH_ROWS:
            break
        await asyncio.sleep(0)  # let waiting requests in between batches
    sessions = await run_in_threadpool(store.delete_device_sessions, device_id)
    return JSONResponse(
        {
            "device_id": device_id,
            "events_deleted": events,
            "sessions_deleted": sessions,
            "erased_at": erased_at,
            # Until then its events are acknowledged and not stored.
            "not_stored_until": erased_at + settings.erasure_window_ms,
        }
    )


async def export_device(request: Request, *, settings: Settings, store: Store) -> Response:
    authorize(request, settings.admin_key)
    device_id = _device_id(request)
    return StreamingResponse(
        ndjson_lines(lambda after, limit: store.device_events(device_id, after, limit)),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
    )


def routes(settings: Settings, store: Store, clock: Clock) -> list[Route]:
    erase = functools.partial(erase_device, settings=settings, store=store, clock=clock)
    export = functools.partial(export_device, settings=settings, store=store)
    return [
        Route(DEVICE_PATH, erase, methods=["DELETE"]),
        Route(DEVICE_EVENTS_PATH, export, methods=["GET"]),
    ]
