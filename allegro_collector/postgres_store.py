"""The PostgreSQL store: a pool of connections (psycopg 3, psycopg_pool), for many collectors.

Same semantics as `sqlite_store`, held by the database rather than by one process, so any number
of collector processes (`--workers N`, or N machines behind a load balancer) can share it:

- exactly once by `event_id`: `INSERT ... ON CONFLICT (event_id) DO NOTHING`; two processes
  inserting one id at once serialize on its index entry and the second inserts nothing;
- sessions, members and `ended_at`: the same conditional single-statement updates, so two
  logins racing through two processes cannot both bind;
- a group of batches is one transaction of three statements (one WAL flush at commit;
  `synchronous_commit` is left at its default `on`, so a commit is durable when it returns).
  Its sessions are updated in session_id order, so two processes' groups lock them in one
  order; events keep their arrival order (`seq`, read back newest first), so the rare group
  that deadlocks on an event id another process inserts at the same moment is retried.

Every method blocks: call it from a worker thread (`run_in_threadpool`), like the SQLite store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool

from allegro_collector.event_filter import EventFilter
from allegro_collector.migrations import migrate_postgres
from allegro_collector.schemas import ValidEvent
from allegro_collector.stats import event_stats
from allegro_collector.store import (
    EVENT_COLUMNS,
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

POOL_SIZE = 10  # per process; sessions and reads share it with the one writer
CONNECT_TIMEOUT_SECONDS = 10
RETRIES = 3

_ARRAY_TYPES = (
    *("text" for _ in EVENT_COLUMNS[:2]),
    "bigint",  # timestamp
    *("text" for _ in EVENT_COLUMNS[3:]),
    "bigint",  # received_at
    *("text" for _ in STORED_COLUMNS[len(EVENT_COLUMNS) + 1 :]),  # the campaign parameters
)
assert EVENT_COLUMNS[2] == "timestamp" and len(_ARRAY_TYPES) == len(STORED_COLUMNS)

# One statement for a whole group: the rows arrive as one array per column.
_INSERT_EVENTS = (
    f"INSERT INTO events ({SELECT_COLUMNS}) "
    f"SELECT * FROM unnest("
    + ", ".join(f"%s::{kind}[]" for kind in _ARRAY_TYPES)
    + ") ON CONFLICT (event_id) DO NOTHING"
)


class PostgresStore:
    """The `Store` in PostgreSQL; every method blocks (call it through `run_in_threadpool`)."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self._pool_size = pool_size
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None

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

    def create_session(self, session_id: str, device_id: str, now_ms: int, expires_at: int) -> None:
        with self._pool_or_raise().connection() as connection:
            connection.execute(
                "INSERT INTO sessions (session_id, device_id, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s)",
                (session_id, device_id, now_ms, expires_at),
            )

    def renew_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> LiveSession | None:
        with self._pool_or_raise().connection() as connection:
            row = connection.execute(
                "UPDATE sessions SET expires_at = %s "
                "WHERE session_id = %s AND device_id = %s AND expires_at > %s "
                "AND ended_at IS NULL RETURNING customer_id",
                (expires_at, session_id, device_id, now_ms),
            ).fetchone()
        return None if row is None else LiveSession(customer_id=row[0])

    def bind_member(
        self, session_id: str, device_id: str, customer_id: str, now_ms: int
    ) -> Binding:
        with self._pool_or_raise().connection() as connection:
            cursor = connection.execute(
                "UPDATE sessions SET customer_id = %s "
                "WHERE session_id = %s AND device_id = %s AND expires_at > %s "
                "AND ended_at IS NULL AND (customer_id IS NULL OR customer_id = %s)",
                (customer_id, session_id, device_id, now_ms, customer_id),
            )
            if cursor.rowcount == 1:
                return Binding.BOUND
            live = connection.execute(
                "SELECT 1 FROM sessions WHERE session_id = %s AND device_id = %s "
                "AND expires_at > %s AND ended_at IS NULL",
                (session_id, device_id, now_ms),
            ).fetchone()
        return Binding.SESSION_OVER if live is None else Binding.OTHER_MEMBER

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        with self._pool_or_raise().connection() as connection:
            connection.execute(
                "UPDATE sessions SET expires_at = LEAST(expires_at, %s), "
                "ended_at = COALESCE(ended_at, %s) WHERE session_id = %s AND device_id = %s",
                (now_ms, now_ms, session_id, device_id),
            )

    def store_events(
        self, events: Sequence[ValidEvent], received_at: int, session_expires_at: int
    ) -> int:
        return self.store_batches([BatchWrite(events, received_at, session_expires_at)])

    def store_batches(self, batches: Sequence[BatchWrite]) -> int:
        for attempt in range(RETRIES):
            try:
                with self._pool_or_raise().connection() as connection:
                    return _store_batches(connection, batches)
            except (errors.DeadlockDetected, errors.SerializationFailure):
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def export_events(
        self, since: int, after: tuple[int, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        columns = SELECT_COLUMNS
        with self._pool_or_raise().connection() as connection:
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
        with self._pool_or_raise().connection() as connection:
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


def _store_batches(connection: psycopg.Connection[Any], batches: Sequence[BatchWrite]) -> int:
    """One transaction of three statements: the members, every event, every session's activity."""
    activity = session_activity(batches)
    with connection.transaction():
        members = dict(
            connection.execute(
                "SELECT session_id, customer_id FROM sessions "
                "WHERE session_id = ANY(%s::text[]) AND ended_at IS NULL "
                "AND customer_id IS NOT NULL",
                ([session_id for session_id, _, _ in activity],),
            ).fetchall()
        )
        rows = [
            event_row(event, batch.received_at, members.get(event.session_id))
            for batch in batches
            for event in batch.events
        ]
        columns = [list(column) for column in zip(*rows, strict=True)]
        new = connection.execute(_INSERT_EVENTS.encode(), columns).rowcount
        connection.execute(
            "UPDATE sessions SET expires_at = GREATEST(sessions.expires_at, a.expires_at) "
            "FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) "
            "AS a (session_id, received_at, expires_at) "
            "WHERE sessions.session_id = a.session_id "
            "AND sessions.expires_at > a.received_at AND sessions.ended_at IS NULL",
            [list(column) for column in zip(*activity, strict=True)],
        )
    return new
