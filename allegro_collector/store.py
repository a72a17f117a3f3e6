"""What the endpoints need from a database: the `Store` interface and the values it returns.

The endpoints see only this interface; `sqlite_store.SqliteStore` and
`postgres_store.PostgresStore` implement it. Every method
blocks, so async code calls them through `run_in_threadpool`. A store keeps its schema with the
numbered migrations of `migrations.py`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import msgspec

from allegro_collector.campaign import CAMPAIGN_PARAMS, campaign_values
from allegro_collector.event_filter import EventFilter
from allegro_collector.schemas import Event, FastEvent, ValidEvent, data_json, data_problem

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


class StoreUnavailableError(Exception):
    """The store cannot do its work now (locked by another process, disk full, read-only file,
    I/O error); the same request may succeed later. Answered 503 with Retry-After."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"{store}: {reason}")
        self.store = store
        self.reason = reason


class Binding(Enum):
    """The outcome of binding a member to a session."""

    BOUND = "bound"
    SESSION_OVER = "session_over"  # unknown, another device's, or expired
    OTHER_MEMBER = "other_member"


@dataclass(frozen=True)
class Login:
    """The outcome of a login: when BOUND, `session_id` is the member's session (a new one
    unless the session already was that member's)."""

    binding: Binding
    session_id: str | None = None


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to make, one per request
class BatchWrite:
    """The valid events of one request, with the time it was received."""

    events: Sequence[ValidEvent]
    received_at: int
    session_expires_at: int


@dataclass(frozen=True)
class GroupWritten:
    """What a committed group did: how many events were new, per batch (in order) the ids
    refused because another device stored them first, and how many events were left out
    because their device was erased (acknowledged, not stored)."""

    new: int
    refused: list[frozenset[str]]
    erased: int = 0


@dataclass(frozen=True)
class LiveSession:
    """A session that was renewed, with the member a verified login bound to it (or None)."""

    customer_id: str | None


class Store(Protocol):
    @property
    def name(self) -> str:
        """What operators call this store, in errors and /healthz (e.g. `sqlite events.db`)."""

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None:
        """Connect and bring the schema up to the newest migration."""

    def close(self) -> None: ...

    def create_session(self, session_id: str, device_id: str, now_ms: int, expires_at: int) -> None:
        """Store a new session, unless its device was erased within the erasure window (then
        nothing is stored: the session's token works, its events are acknowledged unstored)."""

    def renew_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> LiveSession | None:
        """Extend a live session of this device; None when it is unknown, foreign or over."""

    def log_in(
        self,
        session_id: str,
        device_id: str,
        customer_id: str,
        new_session_id: str,
        now_ms: int,
        expires_at: int,
    ) -> Login:
        """Move a verified member from a live anonymous session to `new_session_id` (a new
        session bound to the member, live until `expires_at`), ending the old one: whoever
        else holds the old session's token can never renew it or act as the member. A session
        already the member's is kept (and extended); a session a login just replaced answers
        the session it was replaced by, so a repeated login is harmless."""

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        """End a session for good (a logout)."""

    def store_events(
        self, events: Sequence[ValidEvent], received_at: int, session_expires_at: int
    ) -> frozenset[str]:
        """`store_batches` of one batch: the ids refused because another device stored them."""

    def store_batches(self, batches: Sequence[BatchWrite]) -> GroupWritten:
        """Commit the new events of every batch in one transaction and extend their live
        sessions. An id another device stored first (before, or in an earlier batch of the
        group) is refused; an id this device stored before is skipped (a retry). Events of a
        device erased within the erasure window are neither stored nor refused."""

    def expire_sessions(self, now_ms: int, keep_ms: int, limit: int) -> int:
        """Delete at most `limit` sessions that expired more than `keep_ms` ago, in one short
        transaction; how many were deleted."""

    def delete_events_received_before(self, before_ms: int, limit: int) -> int:
        """Delete at most `limit` events received before `before_ms`, in one short transaction
        (the retention period); how many were deleted."""

    def mark_erased(self, device_id: str, now_ms: int) -> None:
        """Record that the device was erased at `now_ms` (again: the later time counts). Once it
        returns, no event or session of the device is stored for the store's erasure window
        (events are acknowledged, not stored), even by a write another process had under way."""

    def delete_device_events(self, device_id: str, limit: int) -> int:
        """Delete at most `limit` events of the device, in one short transaction; how many."""

    def delete_device_sessions(self, device_id: str) -> int:
        """Delete every session of the device; how many."""

    def forget_erasures_before(self, before_ms: int, limit: int) -> int:
        """Delete at most `limit` records of devices erased before `before_ms` (their window has
        passed), in one short transaction; how many."""

    def device_events(
        self, device_id: str, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` stored events of the device, oldest first by (received_at, event_id),
        starting past the key `after`: `export_events` for one device."""

    def write_failure(self) -> str | None:
        """Why the last write failed, while no write since has succeeded; None when it did.
        Tries a small write (at most once a second) to find out whether the store recovered."""

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
    if isinstance(event, FastEvent):  # its fields are the columns, in order (schemas.py)
        row = list(msgspec.structs.astuple(event)[:-1])
    else:
        row = [getattr(event, column) for column in EVENT_COLUMNS[:-1]]
    if row[_CUSTOMER] != bound_member:
        row[_CUSTOMER] = None
    return (*row, data_text, received_at, *campaign_values(event.url))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def stored_event(row: Sequence[Any]) -> dict[str, Any]:
    """A row as the admin read answers it. `data` written by an older collector may not be
    JSON a client can read (`Infinity`, nesting hundreds deep): such data is answered as null
    with `data_error` saying why, so one row never breaks a read."""
    event = dict(zip(STORED_COLUMNS, row, strict=True))
    text = event["data"]
    if text is not None:
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
            problem = data_problem(data) if isinstance(data, dict) else ([], "is not an object")
        except ValueError:
            data, problem = None, ([], "is not valid JSON")
        except RecursionError:
            data, problem = None, ([], "is nested too deeply to read")
        if problem is None:
            event["data"] = data
        else:
            path, message = problem
            event["data"] = None
            event["data_error"] = f"stored data{''.join('.' + p for p in path)} {message}"
    return event


def claiming_sessions(batches: Sequence[BatchWrite]) -> list[str]:
    """The sessions of the group's events that name a customer: the only ones whose bound
    member `event_row` needs (an event naming none stores none whatever is bound). Usually
    none, and then the store reads no member at all."""
    return sorted(
        {event.session_id for batch in batches for event in batch.events if event.customer_id}
    )


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
        for session_id in {event.session_id for event in batch.events}:  # usually one
            first, latest = found.get(session_id, (batch.received_at, 0))
            found[session_id] = (
                min(first, batch.received_at),
                max(latest, batch.session_expires_at),
            )
    return [(session_id, *found[session_id]) for session_id in sorted(found)]


_NONE_REFUSED: frozenset[str] = frozenset()


def refused_ids(
    batches: Sequence[BatchWrite], stored_devices: dict[str, str]
) -> list[frozenset[str]]:
    """Per batch, the ids whose stored event (`stored_devices`: event_id -> device_id, read
    after the insert in the same transaction) belongs to another device than the event's."""
    if not stored_devices:  # every event of the group was new: none is another device's
        return [_NONE_REFUSED] * len(batches)
    return [
        frozenset(
            event.event_id
            for event in batch.events
            if stored_devices.get(event.event_id, event.device_id) != event.device_id
        )
        for batch in batches
    ]


def all_inserted(new: int, rows: Sequence[object], erased: frozenset[str]) -> bool:
    """True when the insert of a group stored every one of its `rows` and no device of it was
    erased: then each of its ids belongs to the event that carried it (no other device's, none
    twice in the group), and the devices need not be read back."""
    return new == len(rows) and not erased


def group_written(
    new: int,
    batches: Sequence[BatchWrite],
    stored_devices: dict[str, str],
    erased: frozenset[str],
) -> GroupWritten:
    """The `GroupWritten` of a committed group: `refused_ids`, and the events left out because
    their device is in `erased` (those refused as another device's are counted there only)."""
    refused = refused_ids(batches, stored_devices)
    left_out = 0
    if erased:
        left_out = sum(
            1
            for batch, ids in zip(batches, refused, strict=True)
            for event in batch.events
            if event.device_id in erased and event.event_id not in ids
        )
    return GroupWritten(new, refused, left_out)
