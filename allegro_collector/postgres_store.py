"""The PostgreSQL store: a pool of connections (psycopg 3, psycopg_pool), for many collectors.

Same semantics as `sqlite_store`, held by the database rather than by one process, so any number
of collector processes (`--workers N`, or N machines behind a load balancer) can share it:

- exactly once by `event_id`: `INSERT ... ON CONFLICT (event_id) DO NOTHING`; two processes
  inserting one id at once serialize on its index entry and the second inserts nothing;
- sessions, members and `ended_at`: the same conditional single-statement updates, so two
  logins racing through two processes cannot both bind;
- a group of batches is one transaction of a handful of statements (one WAL flush at commit;
  `synchronous_commit` is left at its default `on`, so a commit is durable when it returns).
  Its sessions are updated in session_id order, so two processes' groups lock them in one
  order; events keep their arrival order (`seq`, read back newest first), so the rare group
  that deadlocks on an event id another process inserts at the same moment is retried.

An erasure (`mark_erased`) locks `erased_devices` EXCLUSIVE for its one insert; every group and
every new session or login reads the device's mark `FOR SHARE` (a ROW SHARE lock, which EXCLUSIVE
waits for and excludes) as its transaction's first statement. So the mark waits for writes
already under way (their events are deleted after it), and every write after it sees it.

A database that cannot work now (unreachable, shutting down, disk full, read-only, no
connection free in the pool) raises `StoreUnavailableError` (answered 503 with Retry-After), and
`write_failure` tells /healthz until a write succeeds again.

Every method blocks: call it from a worker thread (`run_in_threadpool`), like the SQLite store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import msgspec
import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool

from allegro_collector.event_filter import EventFilter
from allegro_collector.migrations import migrate_postgres
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

POOL_SIZE = 10  # per process; sessions and reads share it with the one writer
CONNECT_TIMEOUT_SECONDS = 10
RETRIES = 3
PROBE_INTERVAL_SECONDS = 1.0

_BIGINT_COLUMNS = frozenset({"timestamp", "received_at"})
assert all(column in STORED_COLUMNS for column in _BIGINT_COLUMNS)

# One statement for a whole group, its rows one JSON text (an array of rows, each an array in
# STORED_COLUMNS order), encoded by msgspec in one call and parsed once by PostgreSQL into
# jsonb, whose elements are read by position. A list per column instead made psycopg adapt
# every value of 28 arrays: about three fifths of the collector's CPU a 50-event request
# (docs/scaling.md). `json` rather than `jsonb` would parse each row's text again for every
# column read.
_INSERT_EVENTS = (
    f"INSERT INTO events ({SELECT_COLUMNS}) SELECT "
    + ", ".join(
        f"(r->>{index})::bigint" if column in _BIGINT_COLUMNS else f"r->>{index}"
        for index, column in enumerate(STORED_COLUMNS)
    )
    + " FROM jsonb_array_elements(%s::jsonb) AS r ON CONFLICT (event_id) DO NOTHING"
)
_ROWS_ENCODER = msgspec.json.Encoder()


class PostgresStore:
    """The `Store` in PostgreSQL; every method blocks (call it through `run_in_threadpool`)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = POOL_SIZE,
        erasure_window_ms: int = DEFAULT_ERASURE_WINDOW_MS,
    ) -> None:
        self.url = url
        self.erasure_window_ms = erasure_window_ms
        self._pool_size = pool_size
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._state_lock = threading.Lock()
        self._failure: str | None = None  # why the last write failed, until one succeeds
        self._probed_at = -float("inf")

    @property
    def name(self) -> str:
        """`postgresql host:port/database`: never the password the URL may carry."""
        parts = urlsplit(self.url)
        where = parts.hostname or "local socket"
        if parts.port is not None:
            where += f":{parts.port}"
        return f"postgresql {where}{parts.path}"

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    def open(self) -> None:
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            timeout=CONNECT_TIMEOUT_SECONDS,
            open=False,
        )
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            with pool.connection() as connection:
                migrate_postgres(connection)
        except BaseException:
            pool.close()
            raise
        self._pool = pool

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _pool_or_raise(self) -> ConnectionPool[psycopg.Connection[Any]]:
        if self._pool is None:
            raise StorageClosedError("the database is not open")
        return self._pool

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; a database that cannot work now raises StoreUnavailableError
        (and, for a write, is what /healthz reports until a write succeeds)."""
        pool = self._pool_or_raise()
        try:
            with pool.connection() as connection:
                yield connection
        except (psycopg.OperationalError, errors.ReadOnlySqlTransaction) as exc:
            reason = _unavailable(exc)
            if write:
                with self._state_lock:
                    self._failure = reason
            raise StoreUnavailableError(self.name, reason) from exc
        if write:
            with self._state_lock:
                self._failure = None

    def create_session(self, session_id: str, device_id: str, now_ms: int, expires_at: int) -> None:
        with self._connection(write=True) as connection:
            connection.execute(
                "INSERT INTO sessions (session_id, device_id, created_at, expires_at) "
                "SELECT %s, %s, %s::bigint, %s::bigint WHERE NOT EXISTS (SELECT 1 FROM "
                "erased_devices WHERE device_id = %s AND erased_at > %s FOR SHARE)",
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
        with self._connection(write=True) as connection:
            row = connection.execute(
                "UPDATE sessions SET expires_at = %s "
                "WHERE session_id = %s AND device_id = %s AND expires_at > %s "
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
        """See `Store.log_in`. One transaction that locks the old session's row first
        (`FOR UPDATE`), so two logins racing through two processes see each other's outcome."""
        with self._connection(write=True) as connection, connection.transaction():
            if _erased(connection, [device_id], now_ms - self.erasure_window_ms):
                return Login(Binding.SESSION_OVER)
            row = connection.execute(
                "SELECT customer_id, expires_at > %s AND ended_at IS NULL, replaced_by "
                "FROM sessions WHERE session_id = %s AND device_id = %s FOR UPDATE",
                (now_ms, session_id, device_id),
            ).fetchone()
            if row is None:
                return Login(Binding.SESSION_OVER)
            bound, live, replaced_by = row
            if not live:
                # A login (this one repeated, or another tab's) moved the member on already.
                if replaced_by is not None and _extend_member_session(
                    connection, replaced_by, device_id, customer_id, now_ms, expires_at
                ):
                    return Login(Binding.BOUND, replaced_by)
                return Login(Binding.SESSION_OVER)
            if bound == customer_id:
                _extend_member_session(
                    connection, session_id, device_id, customer_id, now_ms, expires_at
                )
                return Login(Binding.BOUND, session_id)
            if bound is not None:
                return Login(Binding.OTHER_MEMBER)
            connection.execute(
                "INSERT INTO sessions "
                "(session_id, device_id, created_at, expires_at, customer_id) "
                "VALUES (%s, %s, %s, %s, %s)",
                (new_session_id, device_id, now_ms, expires_at, customer_id),
            )
            connection.execute(
                "UPDATE sessions SET ended_at = %s, expires_at = LEAST(expires_at, %s), "
                "replaced_by = %s WHERE session_id = %s",
                (now_ms, now_ms, new_session_id, session_id),
            )
            return Login(Binding.BOUND, new_session_id)

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        with self._connection(write=True) as connection:
            connection.execute(
                "UPDATE sessions SET expires_at = LEAST(expires_at, %s), "
                "ended_at = COALESCE(ended_at, %s) WHERE session_id = %s AND device_id = %s",
                (now_ms, now_ms, session_id, device_id),
            )

    def store_events(
        self, events: Sequence[ValidEvent], received_at: int, session_expires_at: int
    ) -> frozenset[str]:
        written = self.store_batches([BatchWrite(events, received_at, session_expires_at)])
        return written.refused[0]

    def store_batches(self, batches: Sequence[BatchWrite]) -> GroupWritten:
        erased_after = max(batch.received_at for batch in batches) - self.erasure_window_ms
        for attempt in range(RETRIES):
            try:
                with self._connection(write=True) as connection:
                    return _store_batches(connection, batches, erased_after)
            except StoreUnavailableError as exc:
                retry = isinstance(
                    exc.__cause__, (errors.DeadlockDetected, errors.SerializationFailure)
                )
                if not retry or attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def expire_sessions(self, now_ms: int, keep_ms: int, limit: int) -> int:
        with self._connection(write=True) as connection:
            cursor = connection.execute(
                "DELETE FROM sessions WHERE session_id IN "
                "(SELECT session_id FROM sessions WHERE expires_at < %s LIMIT %s)",
                (now_ms - keep_ms, limit),
            )
            return cursor.rowcount

    def delete_events_received_before(self, before_ms: int, limit: int) -> int:
        return self._delete_some("events", "event_id", "received_at < %s", before_ms, limit)

    def mark_erased(self, device_id: str, now_ms: int) -> None:
        with self._connection(write=True) as connection, connection.transaction():
            connection.execute("LOCK TABLE erased_devices IN EXCLUSIVE MODE")
            connection.execute(
                "INSERT INTO erased_devices (device_id, erased_at) VALUES (%s, %s) "
                "ON CONFLICT (device_id) DO UPDATE "
                "SET erased_at = GREATEST(erased_devices.erased_at, excluded.erased_at)",
                (device_id, now_ms),
            )

    def delete_device_events(self, device_id: str, limit: int) -> int:
        return self._delete_some("events", "event_id", "device_id = %s", device_id, limit)

    def delete_device_sessions(self, device_id: str) -> int:
        with self._connection(write=True) as connection:
            cursor = connection.execute("DELETE FROM sessions WHERE device_id = %s", (device_id,))
            return cursor.rowcount

    def forget_erasures_before(self, before_ms: int, limit: int) -> int:
        return self._delete_some("erased_devices", "device_id", "erased_at < %s", before_ms, limit)

    def _delete_some(self, table: str, key: str, where: str, value: object, limit: int) -> int:
        """Delete at most `limit` rows of `table` (primary key `key`) matching `where`, in one
        short transaction."""
        with self._connection(write=True) as connection:
            cursor = connection.execute(
                f"DELETE FROM {table} WHERE {key} IN "
                f"(SELECT {key} FROM {table} WHERE {where} LIMIT %s)".encode(),
                (value, limit),
            )
            return cursor.rowcount

    def device_events(
        self, device_id: str, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        with self._connection(write=False) as connection:
            if after is None:
                rows = connection.execute(
                    f"SELECT {SELECT_COLUMNS} FROM events WHERE device_id = %s "
                    "ORDER BY received_at, event_id LIMIT %s",
                    (device_id, limit),
                ).fetchall()
            else:
                rows = connection.execute(
                    f"SELECT {SELECT_COLUMNS} FROM events WHERE device_id = %s "
                    "AND (received_at, event_id) > (%s, %s) "
                    "ORDER BY received_at, event_id LIMIT %s",
                    (device_id, after[0], after[1], limit),
                ).fetchall()
        return [stored_event(row) for row in rows]

    def write_failure(self) -> str | None:
        if self._failure is None:
            return None
        now = time.monotonic()
        if now - self._probed_at >= PROBE_INTERVAL_SECONDS:
            self._probed_at = now
            problem = self._probe()
            with self._state_lock:
                if self._failure is not None:
                    self._failure = problem
        return self._failure

    def _probe(self) -> str | None:
        """Whether a write would succeed now: write the schema version back to itself and
        commit (a WAL record and its flush)."""
        try:
            with self._pool_or_raise().connection() as connection:
                connection.execute("UPDATE allegro_schema SET version = version")
        except (psycopg.OperationalError, errors.ReadOnlySqlTransaction) as exc:
            return _unavailable(exc)
        return None

    def export_events(
        self, since: int, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        columns = SELECT_COLUMNS
        with self._connection(write=False) as connection:
            if after is None:
                rows = connection.execute(
                    f"SELECT {columns} FROM events WHERE received_at >= %s "
                    "ORDER BY received_at, event_id LIMIT %s",
                    (since, limit),
                ).fetchall()
            else:
                rows = connection.execute(
                    f"SELECT {columns} FROM events WHERE (received_at, event_id) > (%s, %s) "
                    "ORDER BY received_at, event_id LIMIT %s",
                    (after[0], after[1], limit),
                ).fetchall()
        return [stored_event(row) for row in rows]

    def list_events(
        self,
        session_id: str | None,
        device_id: str | None,
        limit: int,
        filters: EventFilter | None = None,
    ) -> list[dict[str, Any]]:
        """Stored events, newest first (by received_at, then by insertion order)."""
        where, params = (filters or EventFilter()).with_ids(session_id, device_id).where("%s")
        query = (
            f"SELECT {SELECT_COLUMNS} FROM events {where} "
            "ORDER BY received_at DESC, seq DESC LIMIT %s"
        )
        with self._connection(write=False) as connection:
            rows = connection.execute(query.encode(), [*params, limit]).fetchall()
        return [stored_event(row) for row in rows]

    def stats(self, since: int) -> dict[str, Any]:
        """The figures of the events received at or after `since` (see `stats.event_stats`)."""
        with self._pool_or_raise().connection() as connection:
            # One read-only transaction at REPEATABLE READ: every figure counts the same events.
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            try:
                with connection.transaction():
                    return event_stats(
                        lambda sql, params: connection.execute(
                            sql.encode(), list(params)
                        ).fetchall(),
                        "%s",
                        since,
                    )
            finally:
                connection.isolation_level = None


def _erased(
    connection: psycopg.Connection[Any], devices: Sequence[str], erased_after: int
) -> frozenset[str]:
    """Those of `devices` erased after `erased_after`. `FOR SHARE` locks `erased_devices` in
    ROW SHARE mode until the transaction ends: an erasure waits for it, and it for an erasure."""
    rows = connection.execute(
        "SELECT device_id FROM erased_devices WHERE device_id = ANY(%s::text[]) "
        "AND erased_at > %s FOR SHARE",
        (list(devices), erased_after),
    ).fetchall()
    return frozenset(row[0] for row in rows)


def _store_batches(
    connection: psycopg.Connection[Any], batches: Sequence[BatchWrite], erased_after: int
) -> GroupWritten:
    """One transaction of up to five statements: the erased devices (first, so an erasure
    waiting for its lock holds up nothing this transaction locked), the members (of sessions
    whose events name a customer), every event, every
    session's activity, and the devices the group's ids belong to (read after the insert, so an
    id another process inserted at the same moment is seen with its device; not read when every
    event was inserted: then every id is the group's own)."""
    activity = session_activity(batches)
    with connection.transaction():
        erased = _erased(
            connection,
            sorted({event.device_id for batch in batches for event in batch.events}),
            erased_after,
        )
        members: dict[str, str] = {}
        if claiming := claiming_sessions(batches):
            members = dict(
                connection.execute(
                    "SELECT session_id, customer_id FROM sessions "
                    "WHERE session_id = ANY(%s::text[]) AND ended_at IS NULL "
                    "AND customer_id IS NOT NULL",
                    (claiming,),
                ).fetchall()
            )
        rows = [
            event_row(event, batch.received_at, members.get(event.session_id))
            for batch in batches
            for event in batch.events
            if event.device_id not in erased
        ]
        new = 0
        if rows:
            rows_json = _ROWS_ENCODER.encode(rows).decode()
            new = connection.execute(_INSERT_EVENTS.encode(), (rows_json,)).rowcount
        connection.execute(
            "UPDATE sessions SET expires_at = GREATEST(sessions.expires_at, a.expires_at) "
            "FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) "
            "AS a (session_id, received_at, expires_at) "
            "WHERE sessions.session_id = a.session_id "
            "AND sessions.expires_at > a.received_at AND sessions.ended_at IS NULL",
            [list(column) for column in zip(*activity, strict=True)],
        )
        stored_devices: dict[str, str] = {}
        if not all_inserted(new, rows, erased):
            stored_devices = dict(
                connection.execute(
                    "SELECT event_id, device_id FROM events WHERE event_id = ANY(%s::text[])",
                    (sorted({event.event_id for batch in batches for event in batch.events}),),
                ).fetchall()
            )
    return group_written(new, batches, stored_devices, erased)


def _extend_member_session(
    connection: psycopg.Connection[Any],
    session_id: str,
    device_id: str,
    customer_id: str,
    now_ms: int,
    expires_at: int,
) -> bool:
    cursor = connection.execute(
        "UPDATE sessions SET expires_at = GREATEST(expires_at, %s) WHERE session_id = %s "
        "AND device_id = %s AND customer_id = %s AND expires_at > %s AND ended_at IS NULL",
        (expires_at, session_id, device_id, customer_id, now_ms),
    )
    return cursor.rowcount == 1


def _unavailable(exc: psycopg.Error) -> str:
    """What operators read in the 503 and /healthz: the SQLSTATE's name and the message."""
    state = exc.sqlstate
    kind = type(exc).__name__ if state is None else f"{type(exc).__name__} ({state})"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
    return f"{kind}: {message}"
