"""The schema as an ordered list of numbered migrations, each applied once.

A database records the number of the last migration applied to it (SQLite: `PRAGMA
user_version`). Opening a store applies every later migration in order, each in its own
transaction together with the new number, so a crash between two leaves the database at the
earlier one, never half-way. A database numbered beyond the newest migration was made by a newer
collector and is refused rather than guessed at.

Each migration carries its SQL per dialect, `sqlite` and `postgresql` (same numbers, same
meaning). PostgreSQL records the number in the one-row table `allegro_schema`, and each
migration's transaction holds an advisory lock, so collectors starting together on one database
apply each migration once. Migrations are never edited once released: a change is a new migration.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    sql: Mapping[str, Sequence[str]]  # dialect -> statements, run in order


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sessions and events",
        {
            "sqlite": (
                """CREATE TABLE sessions (
                    session_id TEXT PRIMARY KEY,
                    device_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                )""",
                """CREATE TABLE events (
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
                )""",
                "CREATE INDEX events_received ON events (received_at)",
                "CREATE INDEX events_session ON events (session_id, received_at)",
                "CREATE INDEX events_device ON events (device_id, received_at)",
            ),
            "postgresql": (
                """CREATE TABLE sessions (
                    session_id TEXT PRIMARY KEY,
                    device_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )""",
                # seq: the insertion order SQLite keeps as its rowid (newest first reads).
                """CREATE TABLE events (
                    event_id TEXT PRIMARY KEY,
                    event_name TEXT NOT NULL,
                    timestamp BIGINT NOT NULL,
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
                    received_at BIGINT NOT NULL,
                    seq BIGINT GENERATED ALWAYS AS IDENTITY
                )""",
                "CREATE INDEX events_received ON events (received_at)",
                "CREATE INDEX events_session ON events (session_id, received_at)",
                "CREATE INDEX events_device ON events (device_id, received_at)",
            ),
        },
    ),
    Migration(
        2,
        "sessions.customer_id: the member bound by a verified login",
        {
            "sqlite": ("ALTER TABLE sessions ADD COLUMN customer_id TEXT",),
            "postgresql": ("ALTER TABLE sessions ADD COLUMN customer_id TEXT",),
        },
    ),
    Migration(
        3,
        "sessions.ended_at: a logout ends a session for good",
        {
            "sqlite": ("ALTER TABLE sessions ADD COLUMN ended_at INTEGER",),
            "postgresql": ("ALTER TABLE sessions ADD COLUMN ended_at BIGINT",),
        },
    ),
    Migration(
        4,
        "sessions.replaced_by: the session a login rotated to; an index for expiring sessions",
        {
            "sqlite": (
                "ALTER TABLE sessions ADD COLUMN replaced_by TEXT",
                "CREATE INDEX sessions_expiry ON sessions (expires_at)",
            ),
            "postgresql": (
                "ALTER TABLE sessions ADD COLUMN replaced_by TEXT",
                "CREATE INDEX sessions_expiry ON sessions (expires_at)",
            ),
        },
    ),
    Migration(
        5,
        "events.canonical_url, and the campaign parameters of `url` in columns of their own; "
        "rows stored before keep them empty (no backfill)",
        {
            "sqlite": (
                "ALTER TABLE events ADD COLUMN canonical_url TEXT",
                "ALTER TABLE events ADD COLUMN utm_source TEXT",
                "ALTER TABLE events ADD COLUMN utm_medium TEXT",
                "ALTER TABLE events ADD COLUMN utm_campaign TEXT",
                "ALTER TABLE events ADD COLUMN utm_term TEXT",
                "ALTER TABLE events ADD COLUMN utm_content TEXT",
                "ALTER TABLE events ADD COLUMN gclid TEXT",
                "ALTER TABLE events ADD COLUMN fbclid TEXT",
                "ALTER TABLE events ADD COLUMN msclkid TEXT",
            ),
            "postgresql": (
                "ALTER TABLE events ADD COLUMN canonical_url TEXT",
                "ALTER TABLE events ADD COLUMN utm_source TEXT",
                "ALTER TABLE events ADD COLUMN utm_medium TEXT",
                "ALTER TABLE events ADD COLUMN utm_campaign TEXT",
                "ALTER TABLE events ADD COLUMN utm_term TEXT",
                "ALTER TABLE events ADD COLUMN utm_content TEXT",
                "ALTER TABLE events ADD COLUMN gclid TEXT",
                "ALTER TABLE events ADD COLUMN fbclid TEXT",
                "ALTER TABLE events ADD COLUMN msclkid TEXT",
            ),
        },
    ),
    Migration(
        6,
        "erased_devices: devices erased by DELETE /v1/devices/{id}, kept through the retry "
        "window; sessions by device, for erasing them",
        {
            "sqlite": (
                """CREATE TABLE erased_devices (
                    device_id TEXT PRIMARY KEY,
                    erased_at INTEGER NOT NULL
                )""",
                "CREATE INDEX erased_devices_at ON erased_devices (erased_at)",
                "CREATE INDEX sessions_device ON sessions (device_id)",
            ),
            "postgresql": (
                """CREATE TABLE erased_devices (
                    device_id TEXT PRIMARY KEY,
                    erased_at BIGINT NOT NULL
                )""",
                "CREATE INDEX erased_devices_at ON erased_devices (erased_at)",
                "CREATE INDEX sessions_device ON sessions (device_id)",
            ),
        },
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


class SchemaTooNewError(RuntimeError):
    pass


def pending(current: int, dialect: str) -> list[tuple[int, Sequence[str]]]:
    """The (version, statements) still to apply to a database at version `current`."""
    if current > LATEST_VERSION:
        raise SchemaTooNewError(
            f"the database is at schema version {current}, newer than this collector's "
            f"{LATEST_VERSION}: run a newer collector on it"
        )
    return [(m.version, m.sql[dialect]) for m in MIGRATIONS if m.version > current]


def migrate_sqlite(db: sqlite3.Connection) -> int:
    """Apply the pending migrations to `db` (opened in autocommit mode); the version reached.

    The version is read again inside each transaction, so two collectors opening one file at
    once apply each migration once.
    """
    for version, statements in pending(_sqlite_version(db), "sqlite"):
        db.execute("BEGIN IMMEDIATE")
        try:
            if _sqlite_version(db) < version:
                for statement in statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={version:d}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return _sqlite_version(db)


# pg_advisory_xact_lock key: "allegro" in ASCII, so other applications' keys hardly collide.
_PG_MIGRATION_LOCK = 0x616C6C6567726F


def migrate_postgres(connection: psycopg.Connection[Any]) -> int:
    """Apply the pending migrations to `connection`; the version reached."""

    def version() -> int:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS allegro_schema "
            "(one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)"
        )
        row = connection.execute("SELECT version FROM allegro_schema").fetchone()
        return 0 if row is None else int(row[0])

    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_MIGRATION_LOCK,))
        current = version()
    for target, statements in pending(current, "postgresql"):
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_MIGRATION_LOCK,))
            if version() < target:
                for statement in statements:
                    connection.execute(statement.encode())
                connection.execute(
                    "INSERT INTO allegro_schema VALUES (1, %s) "
                    "ON CONFLICT (one) DO UPDATE SET version = excluded.version",
                    (target,),
                )
    with connection.transaction():
        return version()


def _sqlite_version(db: sqlite3.Connection) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version
