"""The SQLite store: one connection, used from worker threads one call at a time.

WAL mode lets readers (the admin endpoint, tools like `sqlite3`) work while events are
written. `synchronous=FULL` makes every commit durable across power loss, not only across a
crash of the process: an acknowledged event is one the SDK deletes from its outbox, so the
commit is the promise. The cost is one fsync per batch, which the batching SDK keeps rare.

SQLite errors that say the file cannot be written now (busy or locked by another process, disk
full, read-only, I/O error, cannot open) become `StoreUnavailableError`; any other error is a bug
and stays what it is.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from allegro_collector.event_filter import EventFilter
from allegro_collector.migrations import migrate_sqlite
from allegro_collector.schemas import ValidEvent
from allegro_collector.settings import DEFAULT_ERASURE_WINDOW_MS
from allegro_collector.stats import event_stats
from allegro_collector.store import (
    SELECT_COLUMNS,
    STORED_COLUMNS,
    BatchWrite,
    Binding,
    GroupWritten,
    LiveSession,
    Login,
    StorageClosedError,
    StoreUnavailableError,
    all_inserted,
    claiming_sessions,
    event_row,
    group_written,
    session_activity,
    stored_event,
)

# At most 28 values a row and one more: 28,001 a statement, under SQLite's 32,766 variables.
_ROWS_PER_INSERT = 1000
_DEVICE = STORED_COLUMNS.index("device_id")
_SESSIONS_PER_UPDATE = 1000


# Primary result codes (the low byte of an extended code) that mean "not now", not "bug".
_UNAVAILABLE = {
    5: "the database is locked by another process (SQLITE_BUSY)",
    6: "a table is locked (SQLITE_LOCKED)",
    7: "out of memory (SQLITE_NOMEM)",
    8: "the database file is read-only (SQLITE_READONLY)",
    10: "disk I/O error (SQLITE_IOERR)",
    13: "the disk or the file size limit is full (SQLITE_FULL)",
    14: "the database file cannot be opened (SQLITE_CANTOPEN)",
    15: "the database lock protocol failed (SQLITE_PROTOCOL)",
}
PROBE_INTERVAL_SECONDS = 1.0
PROBE_ROOM_BYTES = 1024 * 1024  # a batch's body is at most 1 MiB; its rows take about as much


class SqliteStore:
    """The `Store` in one SQLite file; every method blocks (call it through `run_in_threadpool`).

    `busy_timeout_ms`: how long a write waits for another process's lock before it fails;
    `erasure_window_ms`: how long after its erasure a device's events and sessions are not stored.
    """

    def __init__(
        self,
        path: Path,
        busy_timeout_ms: int = 5000,
        *,
        erasure_window_ms: int = DEFAULT_ERASURE_WINDOW_MS,
    ) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.erasure_window_ms = erasure_window_ms
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._failure: str | None = None  # why the last write failed, until one succeeds
        self._probed_at = -float("inf")

    @property
    def name(self) -> str:
        return f"sqlite {self.path}"

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
            db.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms:d}")
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

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, for one write; its outcome is what health reports."""
        with self._lock:
            try:
                yield self._connection()
            except sqlite3.Error as exc:
                reason = _unavailable(exc)
                if reason is None:
                    raise
                self._failure = reason
                raise StoreUnavailableError(self.name, reason) from exc
            self._failure = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._writing() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    # SQLite may have rolled back by itself already (some I/O errors do).
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise

    def create_session(self, session_id: str, device_id: str, now_ms: int, expires_at: int) -> None:
        with self._writing() as db:
            db.execute(
                "INSERT INTO sessions (session_id, device_id, created_at, expires_at) "
                "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM erased_devices "
                "WHERE device_id = ? AND erased_at > ?)",
                (
                    session_id,
                    device_id,
                    now_ms,
                    expires_at,
                    device_id,
                    now_ms - self.erasure_window_ms,
                ),
            )

    def renew_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> LiveSession | None:
        """Extend a live session of this device; None when it is unknown, foreign or over."""
        with self._writing() as db:
            row = db.execute(
                "UPDATE sessions SET expires_at = ? "
                "WHERE session_id = ? AND device_id = ? AND expires_at > ? "
                "AND ended_at IS NULL RETURNING customer_id",
                (expires_at, session_id, device_id, now_ms),
            ).fetchone()
        return None if row is None else LiveSession(customer_id=row[0])

    def log_in(
        self,
        session_id: str,
        device_id: str,
        customer_id: str,
        new_session_id: str,
        now_ms: int,
        expires_at: int,
    ) -> Login:
        """See `Store.log_in`. One IMMEDIATE transaction, so two logins racing (even from two
        collector processes on one file) see each other's outcome."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT customer_id, expires_at > ? AND ended_at IS NULL, replaced_by "
                "FROM sessions WHERE session_id = ? AND device_id = ?",
                (now_ms, session_id, device_id),
            ).fetchone()
            if row is None:
                return Login(Binding.SESSION_OVER)
            bound, live, replaced_by = row
            if not live:
                # A login (this one repeated, or another tab's) moved the member on already.
                if replaced_by is not None and self._extend_member_session(
                    db, replaced_by, device_id, customer_id, now_ms, expires_at
                ):
                    return Login(Binding.BOUND, replaced_by)
                return Login(Binding.SESSION_OVER)
            if bound == customer_id:
                self._extend_member_session(
                    db, session_id, device_id, customer_id, now_ms, expires_at
                )
                return Login(Binding.BOUND, session_id)
            if bound is not None:
                return Login(Binding.OTHER_MEMBER)
            db.execute(
                "INSERT INTO sessions "
                "(session_id, device_id, created_at, expires_at, customer_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (new_session_id, device_id, now_ms, expires_at, customer_id),
            )
            db.execute(
                "UPDATE sessions SET ended_at = ?, expires_at = min(expires_at, ?), "
                "replaced_by = ? WHERE session_id = ?",
                (now_ms, now_ms, new_session_id, session_id),
            )
            return Login(Binding.BOUND, new_session_id)

    @staticmethod
    def _extend_member_session(
        db: sqlite3.Connection,
        session_id: str,
        device_id: str,
        customer_id: str,
        now_ms: int,
        expires_at: int,
    ) -> bool:
        cursor = db.execute(
            "UPDATE sessions SET expires_at = max(expires_at, ?) WHERE session_id = ? "
            "AND device_id = ? AND customer_id = ? AND expires_at > ? AND ended_at IS NULL",
            (expires_at, session_id, device_id, customer_id, now_ms),
        )
        return cursor.rowcount == 1

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        """End a session for good (a logout): it can no longer be renewed or extended by events,
        and events stored for it from now on carry no member."""
        with self._writing() as db:
            db.execute(
                "UPDATE sessions SET expires_at = min(expires_at, ?), "
                "ended_at = coalesce(ended_at, ?) WHERE session_id = ? AND device_id = ?",
                (now_ms, now_ms, session_id, device_id),
            )

    def store_events(
        self, events: Sequence[ValidEvent], received_at: int, session_expires_at: int
    ) -> frozenset[str]:
        """Store one batch; see `store_batches`."""
        written = self.store_batches([BatchWrite(events, received_at, session_expires_at)])
        return written.refused[0]

    def store_batches(self, batches: Sequence[BatchWrite]) -> GroupWritten:
        """Insert new events and count them as session activity; per batch, the ids another
        device stored.

        All batches in one transaction (group commit: one fsync for all), in a handful of
        statements whatever the number of batches: sqlite3 lets go of the GIL for every
        statement it runs, and getting it back behind a busy event loop can take a whole
        switch interval (5 ms). Returns only after the commit, so every event passed in, but
        those refused, is stored when it returns. An id already stored by the same device is
        skipped (a retry): the first copy wins; an id stored for another device (before, or by
        an earlier batch of the group) is refused. An event keeps its `customer_id` only when
        it is the member a verified login bound to the event's session; any other value (or
        none bound) is stored as null.
        """
        erased_after = max(batch.received_at for batch in batches) - self.erasure_window_ms
        with self._transaction() as db:
            return _store_batches(db, batches, erased_after)

    def expire_sessions(self, now_ms: int, keep_ms: int, limit: int) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM sessions WHERE rowid IN "
                "(SELECT rowid FROM sessions WHERE expires_at < ? LIMIT ?)",
                (now_ms - keep_ms, limit),
            )
            return cursor.rowcount

    def delete_events_received_before(self, before_ms: int, limit: int) -> int:
        return self._delete_some("events", "received_at < ?", (before_ms,), limit)

    def mark_erased(self, device_id: str, now_ms: int) -> None:
        """One IMMEDIATE transaction: every write after it (any process's) sees the mark, and
        SQLite runs one write transaction at a time, so none was under way."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO erased_devices (device_id, erased_at) VALUES (?, ?) "
                "ON CONFLICT (device_id) DO UPDATE "
                "SET erased_at = max(erased_at, excluded.erased_at)",
                (device_id, now_ms),
            )

    def delete_device_events(self, device_id: str, limit: int) -> int:
        return self._delete_some("events", "device_id = ?", (device_id,), limit)

    def delete_device_sessions(self, device_id: str) -> int:
        with self._transaction() as db:
            return db.execute("DELETE FROM sessions WHERE device_id = ?", (device_id,)).rowcount

    def forget_erasures_before(self, before_ms: int, limit: int) -> int:
        return self._delete_some("erased_devices", "erased_at < ?", (before_ms,), limit)

    def _delete_some(self, table: str, where: str, params: tuple[object, ...], limit: int) -> int:
        """Delete at most `limit` rows of `table` matching `where`, in one short transaction."""
        with self._transaction() as db:
            cursor = db.execute(
                f"DELETE FROM {table} WHERE rowid IN "
                f"(SELECT rowid FROM {table} WHERE {where} LIMIT ?)",
                (*params, limit),
            )
            return cursor.rowcount

    def device_events(
        self, device_id: str, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        params: list[int | str] = [device_id]
        where = "device_id = ?"
        if after is not None:
            where += " AND (received_at, event_id) > (?, ?)"
            params += [after[0], after[1]]
        query = (
            f"SELECT {SELECT_COLUMNS} FROM events WHERE {where} "
            "ORDER BY received_at, event_id LIMIT ?"
        )
        return [stored_event(row) for row in self._read(query, [*params, limit])]

    def write_failure(self) -> str | None:
        if self._failure is None:
            return None
        now = time.monotonic()
        if now - self._probed_at >= PROBE_INTERVAL_SECONDS:
            self._probed_at = now
            problem = self._probe()
            with self._lock:
                if self._failure is not None:
                    self._failure = problem
        return self._failure

    def _probe(self) -> str | None:
        """Whether a write would succeed now: take the write lock without waiting, write the
        schema version back (a page to the journal and an fsync), and find room for a large
        batch beside the database. The page alone is not enough: it can reuse journal space a
        failed transaction left behind, while a full disk still refuses the next batch."""
        try:
            self._probe_room()
        except OSError as exc:
            return f"{_UNAVAILABLE[13]}: no room for {PROBE_ROOM_BYTES} bytes ({exc.strerror})"
        try:
            probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        except sqlite3.Error as exc:
            return _unavailable(exc) or str(exc)
        try:
            probe.execute("BEGIN IMMEDIATE")
            version = probe.execute("PRAGMA user_version").fetchone()[0]
            probe.execute(f"PRAGMA user_version={version:d}")
            probe.execute("COMMIT")
        except sqlite3.Error as exc:
            return _unavailable(exc) or str(exc)
        finally:
            probe.close()
        return None

    def _probe_room(self) -> None:
        scratch = self.path.with_name(self.path.name + "-probe")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if os.write(fd, bytes(PROBE_ROOM_BYTES)) != PROBE_ROOM_BYTES:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        finally:
            os.close(fd)
            scratch.unlink(missing_ok=True)

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
        return [stored_event(row) for row in self._read(query, [*params, limit])]

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
        return [stored_event(row) for row in self._read(query, [*params, limit])]

    def _read(self, query: str, params: Sequence[object]) -> list[Any]:
        with self._lock:
            try:
                return self._connection().execute(query, params).fetchall()
            except sqlite3.Error as exc:
                reason = _unavailable(exc)
                if reason is None:
                    raise
                raise StoreUnavailableError(self.name, reason) from exc

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


def _store_batches(
    db: sqlite3.Connection, batches: Sequence[BatchWrite], erased_after: int
) -> GroupWritten:
    activity = session_activity(batches)
    members = _bound_members(db, claiming_sessions(batches))
    rows = [
        event_row(event, batch.received_at, members.get(event.session_id))
        for batch in batches
        for event in batch.events
    ]
    new = 0
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        # Events of erased devices are left out by the insert: the erasures are read only when
        # it stored fewer rows than it was given (a statement fewer for the usual group).
        sql, values = insert_events(rows[start : start + _ROWS_PER_INSERT], erased_after)
        new += db.execute(sql, values).rowcount
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
    if new == len(rows):  # the usual group: no erased device, every id the group's own
        return group_written(new, batches, {}, frozenset())
    erased = _erased_devices(db, batches, erased_after)
    kept = [row for row in rows if row[_DEVICE] not in erased]
    # Every event kept inserted: every id is the group's own, nothing to read back.
    stored = {} if all_inserted(new, kept, erased) else _stored_devices(db, batches)
    return group_written(new, batches, stored, erased)


def insert_events(rows: Sequence[Sequence[object]], erased_after: int) -> tuple[str, list[object]]:
    """One `INSERT OR IGNORE` of `rows` (in STORED_COLUMNS order) and its values, naming only
    the columns some row has a value in (the others are left to their default, null), and
    leaving out the rows of devices erased after `erased_after`.

    Most of an event's 28 columns are null (the campaign columns nearly always), and sqlite3
    binds a None through its adapter lookup, which costs more than binding a value: leaving
    those columns out of the statement takes about two fifths off the CPU of an insert
    (`benchmarks/index_cost.py` measures it). The statements differ only in which columns
    they name and how many rows, a handful of shapes, which sqlite3's statement cache keeps
    compiled.
    """
    columns = list(zip(*rows, strict=True))
    count = len(rows)
    named = [index for index, values in enumerate(columns) if values.count(None) != count]
    placeholders = f"({', '.join('?' * len(named))})"
    device = f"column{named.index(_DEVICE) + 1}"  # a VALUES list's columns: column1, column2...
    sql = (
        f"INSERT OR IGNORE INTO events ({', '.join(STORED_COLUMNS[index] for index in named)}) "
        f"SELECT * FROM (VALUES {', '.join([placeholders] * count)}) AS batch "
        "WHERE NOT EXISTS (SELECT 1 FROM erased_devices "
        f"WHERE device_id = batch.{device} AND erased_at > ?)"
    )
    named_rows = zip(*(columns[index] for index in named), strict=True)
    values = [value for row in named_rows for value in row]
    values.append(erased_after)
    return sql, values


def _erased_devices(
    db: sqlite3.Connection, batches: Sequence[BatchWrite], erased_after: int
) -> frozenset[str]:
    """The devices of the group erased after `erased_after`: their events are not stored."""
    devices = sorted({event.device_id for batch in batches for event in batch.events})
    found: set[str] = set()
    for start in range(0, len(devices), _ROWS_PER_INSERT):
        chunk = devices[start : start + _ROWS_PER_INSERT]
        found.update(
            row[0]
            for row in db.execute(
                f"SELECT device_id FROM erased_devices "
                f"WHERE device_id IN ({', '.join('?' * len(chunk))}) AND erased_at > ?",
                [*chunk, erased_after],
            )
        )
    return frozenset(found)


def _stored_devices(db: sqlite3.Connection, batches: Sequence[BatchWrite]) -> dict[str, str]:
    """event_id -> the device its stored event belongs to, for every id of the group (read
    after the insert: an id two devices sent in one group belongs to the first)."""
    ids = sorted({event.event_id for batch in batches for event in batch.events})
    found: dict[str, str] = {}
    for start in range(0, len(ids), _ROWS_PER_INSERT):
        chunk = ids[start : start + _ROWS_PER_INSERT]
        found.update(
            db.execute(
                f"SELECT event_id, device_id FROM events "
                f"WHERE event_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        )
    return found


def _unavailable(exc: sqlite3.Error) -> str | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    reason = _UNAVAILABLE.get(code & 0xFF)
    return None if reason is None else f"{reason}: {exc}"


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
