"""What the endpoints need from a database: the `Store` interface and the values it returns.

The endpoints see only this interface; `sqlite_store.SqliteStore` implements it. Every method
blocks, so async code calls them through `run_in_threadpool`. A store keeps its schema with the
numbered migrations of `migrations.py`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from allegro_collector.campaign import CAMPAIGN_PARAMS, campaign_params
from allegro_collector.event_filter import EventFilter
from allegro_collector.schemas import Event, ValidEvent, data_json

# One column per field of the wire format, in the model's order.
EVENT_COLUMNS = tuple(Event.model_fields)
assert EVENT_COLUMNS[-1] == "data"
_CUSTOMER = EVENT_COLUMNS.index("customer_id")
# Every stored column of an event: the wire fields, received_at, then the campaign parameters the
# collector reads from `url` (campaign.py; migration 5).
STORED_COLUMNS = (*EVENT_COLUMNS, "received_at", *CAMPAIGN_PARAMS)
SELECT_COLUMNS = ", ".join(STORED_COLUMNS)


class StorageClosedError(RuntimeError):
    pass


class Binding(Enum):
    """The outcome of binding a member to a session."""

    BOUND = "bound"
    SESSION_OVER = "session_over"  # unknown, another device's, or expired
    OTHER_MEMBER = "other_member"


@dataclass(frozen=True)
class BatchWrite:
    """The valid events of one request, with the time it was received."""

    events: Sequence[ValidEvent]
    received_at: int
    session_expires_at: int


@dataclass(frozen=True)
class LiveSession:
    """A session that was renewed, with the member a verified login bound to it (or None)."""

    customer_id: str | None


class Store(Protocol):
    @property
    def is_open(self) -> bool: ...

    def open(self) -> None:
        """Connect and bring the schema up to the newest migration."""

    def close(self) -> None: ...

    def create_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> None: ...

    def renew_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> LiveSession | None:
        """Extend a live session of this device; None when it is unknown, foreign or over."""

    def bind_member(
        self, session_id: str, device_id: str, customer_id: str, now_ms: int
    ) -> Binding:
        """Bind a verified member to a live session; the same member again is a no-op."""

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        """End a session for good (a logout)."""

    def store_events(
        self, events: Sequence[ValidEvent], received_at: int, session_expires_at: int
    ) -> int:
        """`store_batches` of one batch."""

    def store_batches(self, batches: Sequence[BatchWrite]) -> int:
        """Commit the new events of every batch in one transaction (a known event_id is
        skipped) and extend their live sessions; how many of the events were new."""

    def export_events(
        self, since: int, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` stored events received at or after `since`, oldest first, ordered by
        (received_at, event_id) and starting past the key `after` (the last one of the page
        before): a bulk read in pages that never sees an event twice."""

    def list_events(
        self,
        session_id: str | None,
        device_id: str | None,
        limit: int,
        filters: EventFilter | None = None,
    ) -> list[dict[str, Any]]:
        """Stored events, newest first; `filters` narrows them further (the ids given as
        arguments win over the filter's)."""

    def stats(self, since: int) -> dict[str, Any]:
        """The figures of the events received at or after `since` (`stats.event_stats`), all
        counted in one read transaction."""


def event_row(event: ValidEvent, received_at: int, bound_member: str | None) -> tuple[object, ...]:
    """The stored column values of an event, in STORED_COLUMNS order.

    `customer_id` is kept only when it is the member a verified login bound to the session:
    the browser's claim alone is stored as null.
    """
    data_text: str | None = getattr(event, "data_text", None)  # the fast path made it already
    if data_text is None and event.data is not None:
        data_text = data_json(event.data)
    row = [getattr(event, column) for column in EVENT_COLUMNS[:-1]]
    if row[_CUSTOMER] != bound_member:
        row[_CUSTOMER] = None
    return (*row, data_text, received_at, *campaign_params(event.url).values())


def stored_event(row: Sequence[Any]) -> dict[str, Any]:
    event = dict(zip(STORED_COLUMNS, row, strict=True))
    if event["data"] is not None:
        event["data"] = json.loads(event["data"])
    return event


def session_activity(batches: Sequence[BatchWrite]) -> list[tuple[str, int, int]]:
    """Per session of a group: (session_id, first received_at, latest session_expires_at).

    Activity extends a session only while it is live (late events, an outbox sent after the
    session idled out or a batch in flight at logout, never bring one back). Applied batch after
    batch, the first one that finds the session live extends it past every later batch of the
    group (a group spans milliseconds, a lifetime minutes), so one update per session with the
    first arrival and the latest expiry does the same. Sorted by session id: writers that lock
    rows in one order cannot deadlock each other.
    """
    found: dict[str, tuple[int, int]] = {}
    for batch in batches:
        for event in batch.events:
            first, latest = found.get(event.session_id, (batch.received_at, 0))
            found[event.session_id] = (
                min(first, batch.received_at),
                max(latest, batch.session_expires_at),
            )
    return [(session_id, *found[session_id]) for session_id in sorted(found)]
