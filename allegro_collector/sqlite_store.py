"""The SQLite store: one connection, used from worker threads one call at a time.

WAL mode lets readers (the admin endpoint, tools like `sqlite3`) work while events are
written. `synchronous=FULL` makes every commit durable across power loss, not only across a
crash of the process: an acknowledged event is one the SDK deletes from its outbox, so the
commit is the promise. The cost is one fsync per batch, which the batching SDK keeps rare.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from allegro_collector.event_filter import EventFilter
from allegro_collector.migrations import migrate_sqlite
from allegro_collector.schemas import ValidEvent
from allegro_collector.stats import event_stats
from allegro_collector.store import (
    SELECT_COLUMNS,
    STORED_COLUMNS,
    BatchWrite,
    Binding,
    LiveSession,
    StorageClosedError,
    event_row,
    session_activity,
    stored_event,
)

_INSERT_EVENTS = f"INSERT OR IGNORE INTO events ({SELECT_COLUMNS}) VALUES"
_ROW_PLACEHOLDERS = f"({', '.join('?' for _ in STORED_COLUMNS)})"
# 28 values a row: 28,000 a statement, under SQLite's 32,766 variables.
_ROWS_PER_INSERT = 1000
_SESSIONS_PER_UPDATE = 1000


class SqliteStore:
    """The `Store` in one SQLite file; every method blocks (call it through `run_in_threadpool`)."""

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
            migrate_sqlite(db)
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
        self, events: Sequence[ValidEvent], received_at: int, session_expires_at: int
    ) -> int:
        """Store one batch; see `store_batches`."""
        return self.store_batches([BatchWrite(events, received_at, session_expires_at)])

    def store_batches(self, batches: Sequence[BatchWrite]) -> int:
        """Insert new events (a known event_id is skipped) and count them as session activity.

        All batches in one transaction (group commit: one fsync for all), in a handful of
        statements whatever the number of batches: sqlite3 lets go of the GIL for every
        statement it runs, and getting it back behind a busy event loop can take a whole
        switch interval (5 ms). Returns after the commit (every event passed in is stored)
        how many of the events were new; the others were already stored.
        An event keeps its `customer_id` only when it is the member a verified login bound to
        the event's session; any other value (or none bound) is stored as null.
        """
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                new = _store_batches(db, batches)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return new

    def export_events(
        self, since: int, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        params: list[int | str]
        if after is None:
            where, params = "received_at >= ?", [since]
        else:
            where, params = "(received_at, event_id) > (?, ?)", [after[0], after[1]]
        query = (
            f"SELECT {SELECT_COLUMNS} FROM events WHERE {where} "
            "ORDER BY received_at, event_id LIMIT ?"
        )
        with self._lock:
            rows = self._connection().execute(query, [*params, limit]).fetchall()
        return [stored_event(row) for row in rows]

    def list_events(
        self,
        session_id: str | None,
        device_id: str | None,
        limit: int,
        filters: EventFilter | None = None,
    ) -> list[dict[str, Any]]:
        """Stored events, newest first (by received_at, then by insertion order)."""
        where, params = (filters or EventFilter()).with_ids(session_id, device_id).where("?")
        query = (
            f"SELECT {SELECT_COLUMNS} FROM events {where} "
            "ORDER BY received_at DESC, rowid DESC LIMIT ?"
        )
        with self._lock:
            rows = self._connection().execute(query, [*params, limit]).fetchall()
        return [stored_event(row) for row in rows]

    def stats(self, since: int) -> dict[str, Any]:
        """The figures of the events received at or after `since` (see `stats.event_stats`)."""
        with self._lock:
            db = self._connection()
            # One read transaction, so every figure counts the same events.
            db.execute("BEGIN")
            try:
                return event_stats(
                    lambda sql, params: db.execute(sql, params).fetchall(), "?", since
                )
            finally:
                db.execute("COMMIT")


def _store_batches(db: sqlite3.Connection, batches: Sequence[BatchWrite]) -> int:
    activity = session_activity(batches)
    members = _bound_members(db, [session_id for session_id, _, _ in activity])
    rows = [
        event_row(event, batch.received_at, members.get(event.session_id))
        for batch in batches
        for event in batch.events
    ]
    new = 0
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        values = ", ".join([_ROW_PLACEHOLDERS] * len(chunk))
        new += db.execute(
            f"{_INSERT_EVENTS} {values}", [value for row in chunk for value in row]
        ).rowcount
    for start in range(0, len(activity), _SESSIONS_PER_UPDATE):
        sessions = activity[start : start + _SESSIONS_PER_UPDATE]
        db.execute(
            f"WITH activity (session_id, received_at, expires_at) AS "
            f"(VALUES {', '.join(['(?, ?, ?)'] * len(sessions))}) "
            "UPDATE sessions SET expires_at = max(sessions.expires_at, activity.expires_at) "
            "FROM activity WHERE sessions.session_id = activity.session_id "
            "AND sessions.expires_at > activity.received_at AND sessions.ended_at IS NULL",
            [value for item in sessions for value in item],
        )
    return new


def _bound_members(db: sqlite3.Connection, session_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(session_ids), _SESSIONS_PER_UPDATE):
        chunk = session_ids[start : start + _SESSIONS_PER_UPDATE]
        rows = db.execute(
            "SELECT session_id, customer_id FROM sessions "
            f"WHERE session_id IN ({', '.join('?' * len(chunk))}) "
            "AND ended_at IS NULL AND customer_id IS NOT NULL",
            chunk,
        ).fetchall()
        found.update(rows)
    return found
