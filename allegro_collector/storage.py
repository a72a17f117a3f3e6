"""SQLite storage: one connection, used from worker threads one call at a time.

WAL mode lets readers (the admin endpoint, tools like `sqlite3`) work while events are
written. `synchronous=FULL` makes every commit durable across power loss, not only across a
crash of the process: an acknowledged event is one the SDK deletes from its outbox, so the
commit is the promise. The cost is one fsync per batch, which the batching SDK keeps rare.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from allegro_collector.campaign import CAMPAIGN_PARAMS, campaign_params
from allegro_collector.schemas import Event, data_json

# 2: sessions.customer_id, the member bound by a verified login; 3: sessions.ended_at (logout);
# 4: events.canonical_url and the campaign columns (rows stored before keep them empty)
SCHEMA_VERSION = 4

# One column per field of the wire format, in the model's order, then the campaign parameters the
# collector reads from `url` (allegro_collector/campaign.py).
WIRE_COLUMNS = tuple(Event.model_fields)
EVENT_COLUMNS = (*WIRE_COLUMNS, *CAMPAIGN_PARAMS)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    customer_id TEXT,
    ended_at INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    event_name TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    customer_id TEXT,
    url TEXT,
    canonical_url TEXT,
    referer TEXT,
    page_title TEXT,
    content_type TEXT,
    content_id TEXT,
    publisher TEXT,
    object_type TEXT,
    object_id TEXT,
    context TEXT,
    conversion_pv_id TEXT,
    url_in_click TEXT,
    data TEXT,
    received_at INTEGER NOT NULL,
    utm_source TEXT,
    utm_medium TEXT,
    utm_campaign TEXT,
    utm_term TEXT,
    utm_content TEXT,
    gclid TEXT,
    fbclid TEXT,
    msclkid TEXT
);
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
CREATE INDEX IF NOT EXISTS events_session ON events (session_id, received_at);
CREATE INDEX IF NOT EXISTS events_device ON events (device_id, received_at);
"""

_INSERT_EVENT = (
    f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}, received_at) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)}, ?)"
)


class StorageClosedError(RuntimeError):
    pass


class Binding(Enum):
    """The outcome of binding a member to a session."""

    BOUND = "bound"
    SESSION_OVER = "session_over"  # unknown, another device's, or expired
    OTHER_MEMBER = "other_member"


@dataclass(frozen=True)
class LiveSession:
    """A session that was renewed, with the member a verified login bound to it (or None)."""

    customer_id: str | None


class Storage:
    """Every method blocks; call them through `run_in_threadpool` from async code."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def open(self) -> None:
        # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise RuntimeError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
            _migrate(db)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        with self._lock:
            self._db = db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageClosedError("the database is not open")
        return self._db

    def create_session(self, session_id: str, device_id: str, now_ms: int, expires_at: int) -> None:
        with self._lock:
            self._connection().execute(
                "INSERT INTO sessions (session_id, device_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (session_id, device_id, now_ms, expires_at),
            )

    def renew_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> LiveSession | None:
        """Extend a live session of this device; None when it is unknown, foreign or over."""
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "UPDATE sessions SET expires_at = ? "
                    "WHERE session_id = ? AND device_id = ? AND expires_at > ? "
                    "AND ended_at IS NULL RETURNING customer_id",
                    (expires_at, session_id, device_id, now_ms),
                )
                .fetchone()
            )
        return None if row is None else LiveSession(customer_id=row[0])

    def bind_member(
        self, session_id: str, device_id: str, customer_id: str, now_ms: int
    ) -> Binding:
        """Bind a verified member to a live session; the same member again is a no-op.

        One conditional UPDATE, so two logins racing (even from two collector processes on one
        file) cannot both bind: the second finds the session taken.
        """
        with self._lock:
            db = self._connection()
            cursor = db.execute(
                "UPDATE sessions SET customer_id = ? "
                "WHERE session_id = ? AND device_id = ? AND expires_at > ? AND ended_at IS NULL "
                "AND (customer_id IS NULL OR customer_id = ?)",
                (customer_id, session_id, device_id, now_ms, customer_id),
            )
            if cursor.rowcount == 1:
                return Binding.BOUND
            live = db.execute(
                "SELECT 1 FROM sessions "
                "WHERE session_id = ? AND device_id = ? AND expires_at > ? AND ended_at IS NULL",
                (session_id, device_id, now_ms),
            ).fetchone()
        return Binding.SESSION_OVER if live is None else Binding.OTHER_MEMBER

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        """End a session for good (a logout): it can no longer be renewed or extended by events,
        and events stored for it from now on carry no member."""
        with self._lock:
            self._connection().execute(
                "UPDATE sessions SET expires_at = min(expires_at, ?), "
                "ended_at = coalesce(ended_at, ?) WHERE session_id = ? AND device_id = ?",
                (now_ms, now_ms, session_id, device_id),
            )

    def store_events(
        self, events: Sequence[Event], received_at: int, session_expires_at: int
    ) -> None:
        """Insert new events (a known event_id is skipped) and count them as session activity.

        Returns only after the commit, so every event passed in is stored when it returns.
        An event keeps its `customer_id` only when it is the member a verified login bound to
        the event's session; any other value (or none bound) is stored as null.
        """
        session_ids = sorted({event.session_id for event in events})
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                members = _bound_members(db, session_ids)
                rows = [
                    _event_row(event, received_at, members.get(event.session_id))
                    for event in events
                ]
                db.executemany(_INSERT_EVENT, rows)
                # Activity extends a live session only: late events (an outbox sent after the
                # session idled out, a batch in flight at logout) never bring one back.
                db.executemany(
                    "UPDATE sessions SET expires_at = max(expires_at, ?) "
                    "WHERE session_id = ? AND expires_at > ? AND ended_at IS NULL",
                    [(session_expires_at, session_id, received_at) for session_id in session_ids],
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def list_events(
        self, session_id: str | None, device_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Stored events, newest first (by received_at, then by insertion order)."""
        conditions: list[str] = []
        params: list[str | int] = []
        if session_id is not None:
            conditions.append("session_id = ?")
            params.append(session_id)
        if device_id is not None:
            conditions.append("device_id = ?")
            params.append(device_id)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        query = (
            f"SELECT {', '.join(EVENT_COLUMNS)}, received_at FROM events {where} "
            "ORDER BY received_at DESC, rowid DESC LIMIT ?"
        )
        with self._lock:
            rows = self._connection().execute(query, [*params, limit]).fetchall()
        return [_stored_event(row) for row in rows]


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an older collector up to SCHEMA_VERSION."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
    if "customer_id" not in columns:
        db.execute("ALTER TABLE sessions ADD COLUMN customer_id TEXT")
    if "ended_at" not in columns:
        db.execute("ALTER TABLE sessions ADD COLUMN ended_at INTEGER")
    # 4: no backfill; rows stored before have these empty.
    columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
    for column in ("canonical_url", *CAMPAIGN_PARAMS):
        if column not in columns:
            db.execute(f"ALTER TABLE events ADD COLUMN {column} TEXT")


def _bound_members(db: sqlite3.Connection, session_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for session_id in session_ids:
        row = db.execute(
            "SELECT customer_id FROM sessions WHERE session_id = ? AND ended_at IS NULL",
            (session_id,),
        ).fetchone()
        if row is not None and row[0] is not None:
            found[session_id] = row[0]
    return found


def _event_row(event: Event, received_at: int, bound_member: str | None) -> tuple[object, ...]:
    values = event.model_dump()
    data = values["data"]
    values["data"] = None if data is None else data_json(data)
    if values["customer_id"] != bound_member:
        values["customer_id"] = None  # the browser's claim is not what a verified login bound
    values.update(campaign_params(event.url))
    return (*(values[column] for column in EVENT_COLUMNS), received_at)


def _stored_event(row: Sequence[Any]) -> dict[str, Any]:
    event = dict(zip((*EVENT_COLUMNS, "received_at"), row, strict=True))
    if event["data"] is not None:
        event["data"] = json.loads(event["data"])
    return event
