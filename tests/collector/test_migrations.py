"""Numbered migrations: a fresh file gets all of them, a file of every released schema (1, 2, 3)
is brought up to the newest with its data, each migration runs once, and a newer file is refused."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from allegro_collector.campaign import CAMPAIGN_PARAMS
from allegro_collector.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    SchemaTooNewError,
    migrate_sqlite,
)
from allegro_collector.sqlite_store import SqliteStore
from allegro_collector.store import Binding, Login

SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"
DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
EVENT = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"

# The schemas the released collectors wrote, as they wrote them (CREATE TABLE IF NOT EXISTS ...
# then PRAGMA user_version), so these files are what an operator has on disk.
_V1 = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, event_name TEXT NOT NULL, timestamp INTEGER NOT NULL,
    device_id TEXT NOT NULL, session_id TEXT NOT NULL, customer_id TEXT, url TEXT, referer TEXT,
    page_title TEXT, content_type TEXT, content_id TEXT, publisher TEXT, object_type TEXT,
    object_id TEXT, context TEXT, conversion_pv_id TEXT, url_in_click TEXT, data TEXT,
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
CREATE INDEX IF NOT EXISTS events_session ON events (session_id, received_at);
CREATE INDEX IF NOT EXISTS events_device ON events (device_id, received_at);
"""
OLD_SCHEMAS = {
    1: _V1,
    2: _V1.replace(
        "expires_at INTEGER NOT NULL\n", "expires_at INTEGER NOT NULL,\n    customer_id TEXT\n"
    ),
    3: _V1.replace(
        "expires_at INTEGER NOT NULL\n",
        "expires_at INTEGER NOT NULL,\n    customer_id TEXT,\n    ended_at INTEGER\n",
    ),
}


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


def old_database(path: Path, version: int) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(OLD_SCHEMAS[version])
        db.execute(f"PRAGMA user_version={version}")
        db.execute(
            "INSERT INTO sessions (session_id, device_id, created_at, expires_at) "
            "VALUES (?, ?, 0, 100)",
            (SESSION, DEVICE),
        )
        db.execute(
            "INSERT INTO events (event_id, event_name, timestamp, device_id, session_id, data, "
            "received_at) VALUES (?, 'page_view', 1, ?, ?, '{\"a\":1}', 5)",
            (EVENT, DEVICE, SESSION),
        )
        db.commit()


def columns(path: Path, table: str) -> list[str]:
    return [row[1] for row in rows(path, f"PRAGMA table_info({table})")]


def test_the_migrations_are_numbered_one_by_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all("sqlite" in m.sql for m in MIGRATIONS)


def test_a_new_file_gets_every_migration(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "new.sqlite3")
    store.open()
    store.close()
    assert rows(store.path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert columns(store.path, "sessions") == [
        "session_id",
        "device_id",
        "created_at",
        "expires_at",
        "customer_id",
        "ended_at",
        "replaced_by",
    ]


@pytest.mark.parametrize("version", sorted(OLD_SCHEMAS))
def test_a_file_of_each_released_schema_is_migrated_with_its_data(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / f"v{version}.sqlite3"
    old_database(path, version)
    store = SqliteStore(path)
    store.open()
    try:
        login = store.log_in(SESSION, DEVICE, "c-1", "new", now_ms=10, expires_at=110)
        assert login == Login(Binding.BOUND, "new")
        [event] = store.list_events(SESSION, None, 10)
    finally:
        store.close()
    assert (event["event_id"], event["data"], event["received_at"]) == (EVENT, {"a": 1}, 5)
    # Migration 5: the new event columns, empty for rows stored before (no backfill).
    assert event["canonical_url"] is None
    assert all(event[name] is None for name in CAMPAIGN_PARAMS)
    assert columns(path, "events")[-9:] == ["canonical_url", *CAMPAIGN_PARAMS]
    assert rows(path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert columns(path, "sessions")[-3:] == ["customer_id", "ended_at", "replaced_by"]
    assert ("sessions_expiry",) in rows(path, "SELECT name FROM sqlite_master WHERE type='index'")


def test_each_migration_runs_once(tmp_path: Path) -> None:
    path = tmp_path / "twice.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        assert migrate_sqlite(db) == LATEST_VERSION
        # Applied again, an ALTER TABLE ... ADD COLUMN would fail: nothing is applied.
        assert migrate_sqlite(db) == LATEST_VERSION


def test_a_failing_migration_leaves_the_file_at_the_version_before(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    old_database(path, 2)
    with closing(sqlite3.connect(path)) as db:  # as if migration 3 had been made by hand
        db.execute("ALTER TABLE sessions ADD COLUMN ended_at INTEGER")
        db.commit()
    with (
        closing(sqlite3.connect(path, isolation_level=None)) as db,
        pytest.raises(sqlite3.OperationalError, match="duplicate column"),
    ):
        migrate_sqlite(db)
    assert rows(path, "PRAGMA user_version") == [(2,)]
    assert "replaced_by" not in columns(path, "sessions")


def test_a_file_of_a_newer_collector_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version={LATEST_VERSION + 1}")
    store = SqliteStore(path)
    with pytest.raises(SchemaTooNewError, match="newer than this collector"):
        store.open()
    assert not store.is_open
