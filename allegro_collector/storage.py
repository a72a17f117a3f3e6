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
from pathlib import Path
from typing import Any

from allegro_collector.schemas import Event, data_json

SCHEMA_VERSION = 1

# One column per field of the wire format, in the model's order.
EVENT_COLUMNS = tuple(Event.model_fields)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    event_name TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    customer_id TEXT,
    url TEXT,
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
    received_at INTEGER NOT NULL
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

    def renew_session(self, session_id: str, device_id: str, now_ms: int, expires_at: int) -> bool:
        """Extend a live session of this device; False when it is unknown, foreign or over."""
        with self._lock:
            cursor = self._connection().execute(
                "UPDATE sessions SET expires_at = ? "
                "WHERE session_id = ? AND device_id = ? AND expires_at > ?",
                (expires_at, session_id, device_id, now_ms),
            )
            return cursor.rowcount == 1

    def store_events(
        self, events: Sequence[Event], received_at: int, session_expires_at: int
    ) -> None:
        """Insert new events (a known event_id is skipped) and count them as session activity.

        Returns only after the commit, so every event passed in is stored when it returns.
        """
        rows = [_event_row(event, received_at) for event in events]
        session_ids = sorted({event.session_id for event in events})
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_INSERT_EVENT, rows)
                db.executemany(
                    "UPDATE sessions SET expires_at = max(expires_at, ?) WHERE session_id = ?",
                    [(session_expires_at, session_id) for session_id in session_ids],
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


def _event_row(event: Event, received_at: int) -> tuple[object, ...]:
    values = event.model_dump()
    data = values["data"]
    values["data"] = None if data is None else data_json(data)
    return (*(values[column] for column in EVENT_COLUMNS), received_at)


def _stored_event(row: Sequence[Any]) -> dict[str, Any]:
    event = dict(zip((*EVENT_COLUMNS, "received_at"), row, strict=True))
    if event["data"] is not None:
        event["data"] = json.loads(event["data"])
    return event
