"""`GET /v1/events/export?since=<epoch ms>`: every event received since then, as NDJSON; admin key.

Beyond the 1,000 newest that `GET /v1/events` shows: the answer streams one JSON object per line
(the stored event, as in `GET /v1/events`), oldest first by (received_at, event_id), read from
the store in pages of `PAGE_SIZE` so neither side holds the whole table. `since` is inclusive and
defaults to 0 (everything).

To follow the store, ask again with `since` set a little before the last `received_at` seen and
skip event ids already read: `received_at` is taken when a request arrives, and a request
committed a moment later (group commit, another process) can carry a slightly older time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from allegro_collector.admin_api import authorize
from allegro_collector.errors import ApiError
from allegro_collector.schemas import MAX_TIMESTAMP_MS
from allegro_collector.settings import Settings
from allegro_collector.store import Store

PAGE_SIZE = 1000
MEDIA_TYPE = "application/x-ndjson"


def _since(raw: str | None) -> int:
    if raw is None:
        return 0
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 15 and int(raw) <= MAX_TIMESTAMP_MS):
        raise ApiError(400, "must be a time in epoch milliseconds (an integer >= 0)", "since")
    return int(raw)


PageReader = Callable[[tuple[int, str] | None, int], list[dict[str, Any]]]
"""(after, limit) -> the next page of stored events, ordered by (received_at, event_id)."""


async def ndjson_lines(read_page: PageReader) -> AsyncIterator[bytes]:
    """Every event `read_page` reads, page after page, as NDJSON (one chunk a page)."""
    after: tuple[int, str] | None = None
    while True:
        page = await run_in_threadpool(read_page, after, PAGE_SIZE)
        if not page:
            return
        yield "".join(
            json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n" for event in page
        ).encode()
        if len(page) < PAGE_SIZE:
            return
        last = page[-1]
        after = (last["received_at"], last["event_id"])


async def export_events(request: Request, *, settings: Settings, store: Store) -> Response:
    authorize(request, settings.admin_key)
    since = _since(request.query_params.get("since"))
    return StreamingResponse(
        ndjson_lines(lambda after, limit: store.export_events(since, after, limit)),
        media_type=MEDIA_TYPE,
    )


def routes(settings: Settings, store: Store) -> list[Route]:
    endpoint = functools.partial(export_events, settings=settings, store=store)
    return [Route("/v1/events/export", endpoint, methods=["GET"])]
