from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from allegro_collector.campaign import CAMPAIGN_PARAMS
from allegro_collector.migrations import LATEST_VERSION
from allegro_collector.postgres_store import PostgresStore
from allegro_collector.schemas import Event
from allegro_collector.sqlite_store import SqliteStore
from allegro_collector.store import (
    BatchWrite,
    Binding,
    GroupWritten,
    LiveSession,
    Login,
    StorageClosedError,
    Store,
)

SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"
DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def event(**overrides: Any) -> Event:
    values: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_name": "page_view",
        "timestamp": 1_790_000_000_000,
        "device_id": DEVICE,
        "session_id": SESSION,
        "data": {"price": 9.99, "name": "caf\u00e9"},
    }
    values.update(overrides)
    return Event.model_validate(values)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every test of the store's contract runs against SQLite and PostgreSQL."""
    storage: Store
    if request.param == "postgresql":
        storage = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        storage = SqliteStore(tmp_path / "events.sqlite3")
    storage.open()
    yield storage
    storage.close()


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> Iterator[SqliteStore]:
    storage = SqliteStore(tmp_path / "events.sqlite3")
    storage.open()
    yield storage
    storage.close()


def rows(storage: Store, sql: str) -> list[tuple[Any, ...]]:
    """Rows read beside the store; `rowid` (SQLite's insertion order) is `seq` in PostgreSQL."""
    if isinstance(storage, PostgresStore):
        with psycopg.connect(storage.url) as connection:
            return connection.execute(sql.replace("rowid", "seq").encode()).fetchall()
    assert isinstance(storage, SqliteStore)
    with closing(sqlite3.connect(storage.path)) as db:
        return db.execute(sql).fetchall()


def test_wal_mode_and_full_sync(sqlite_storage: SqliteStore) -> None:
    storage = sqlite_storage
    assert rows(storage, "PRAGMA journal_mode") == [("wal",)]
    db = storage._connection()
    assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_event_round_trip_with_data_as_json_text(storage: Store) -> None:
    stored = event(url="http://x/")
    storage.store_events([stored], received_at=5, session_expires_at=10)
    [read] = storage.list_events(None, None, 10)
    assert read == {**stored.model_dump(), "received_at": 5, **dict.fromkeys(CAMPAIGN_PARAMS)}
    assert rows(storage, "SELECT data FROM events") == [('{"price":9.99,"name":"café"}',)]


def test_campaign_parameters_of_the_url_get_their_own_columns(storage: Store) -> None:
    url = "https://s.example/story?utm_source=newsletter&utm_medium=email&fbclid=f&msclkid=m"
    storage.store_events(
        [event(url=url, canonical_url="https://s.example/story")], 5, session_expires_at=10
    )
    [read] = storage.list_events(None, None, 10)
    assert read["url"] == url
    assert read["canonical_url"] == "https://s.example/story"
    assert {name: read[name] for name in CAMPAIGN_PARAMS} == {
        **dict.fromkeys(CAMPAIGN_PARAMS),
        "utm_source": "newsletter",
        "utm_medium": "email",
        "fbclid": "f",
        "msclkid": "m",
    }


def test_events_of_one_group_keep_each_its_own_values_and_nulls(storage: Store) -> None:
    """Each event has its own mix of empty and filled fields: none takes another's value, an
    empty field is stored empty, and a field filled in no event of the group too."""
    sparse = event(data=None)
    full = event(
        referer="https://r.example/",
        page_title="A title",
        content_type="article",
        url="https://s.example/?utm_campaign=spring",
    )
    middle = event(page_title="", object_id="o-1")
    storage.store_batches([BatchWrite([sparse, full], 5, 10), BatchWrite([middle], 6, 10)])
    read = {row["event_id"]: row for row in storage.list_events(None, None, 10)}
    for stored, received_at in ((sparse, 5), (full, 5), (middle, 6)):
        assert read[stored.event_id] == {
            **stored.model_dump(),
            "received_at": received_at,
            **dict.fromkeys(CAMPAIGN_PARAMS),
            **({"utm_campaign": "spring"} if stored is full else {}),
        }


def test_repeated_event_id_is_stored_once(storage: Store) -> None:
    first = event()
    storage.store_events([first], received_at=1, session_expires_at=10)
    again = event(event_id=first.event_id, event_name="changed")
    storage.store_events([again, again], received_at=2, session_expires_at=10)
    assert rows(storage, "SELECT event_id, event_name, received_at FROM events") == [
        (first.event_id, "page_view", 1)
    ]


def test_newest_first_then_by_insertion_order(storage: Store) -> None:
    a, b, c = event(), event(), event()
    storage.store_events([a], received_at=1, session_expires_at=10)
    storage.store_events([b, c], received_at=2, session_expires_at=10)
    assert [e["event_id"] for e in storage.list_events(None, None, 10)] == [
        c.event_id,
        b.event_id,
        a.event_id,
    ]
    assert [e["event_id"] for e in storage.list_events(None, None, 2)] == [c.event_id, b.event_id]


def test_filters(storage: Store) -> None:
    other_device = str(uuid.uuid4())
    mine, other_session, other = event(), event(session_id="s2"), event(device_id=other_device)
    storage.store_events([mine, other_session, other], received_at=1, session_expires_at=10)
    assert {e["event_id"] for e in storage.list_events(SESSION, None, 10)} == {
        mine.event_id,
        other.event_id,
    }
    assert [e["event_id"] for e in storage.list_events(SESSION, DEVICE, 10)] == [mine.event_id]
    assert [e["event_id"] for e in storage.list_events(None, other_device, 10)] == [other.event_id]


def test_session_renewal_needs_same_device_and_a_live_session(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    assert not storage.renew_session(SESSION, str(uuid.uuid4()), now_ms=50, expires_at=150)
    assert not storage.renew_session("unknown", DEVICE, now_ms=50, expires_at=150)
    assert storage.renew_session(SESSION, DEVICE, now_ms=50, expires_at=150) == LiveSession(None)
    assert not storage.renew_session(SESSION, DEVICE, now_ms=150, expires_at=250)


NEW = "5b3c9d2e-1f4a-4b8c-9d6e-2a3b4c5d6e7f"


def log_in(storage: Store, customer: str, now_ms: int, device: str = DEVICE) -> Login:
    return storage.log_in(SESSION, device, customer, NEW, now_ms=now_ms, expires_at=now_ms + 100)


def test_a_login_moves_the_member_to_a_new_session_and_ends_the_old(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    assert log_in(storage, "c-1", 10, device=str(uuid.uuid4())) == Login(Binding.SESSION_OVER)
    assert log_in(storage, "c-1", 10) == Login(Binding.BOUND, NEW)
    assert rows(
        storage,
        "SELECT session_id, customer_id, expires_at, ended_at, replaced_by "
        "FROM sessions ORDER BY created_at",
    ) == [
        (SESSION, None, 10, 10, NEW),
        (NEW, "c-1", 110, None, None),
    ]
    # The old session: no renewal, no member. A repeated login answers the new session.
    assert storage.renew_session(SESSION, DEVICE, now_ms=11, expires_at=111) is None
    assert log_in(storage, "c-1", 12) == Login(Binding.BOUND, NEW)
    assert log_in(storage, "c-2", 13) == Login(Binding.SESSION_OVER)
    assert storage.renew_session(NEW, DEVICE, now_ms=40, expires_at=140) == LiveSession("c-1")


def test_a_login_to_a_session_of_the_member_keeps_it(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    [(session_id,)] = rows(storage, "SELECT session_id FROM sessions")
    log_in(storage, "c-1", 10)
    assert storage.log_in(NEW, DEVICE, "c-1", "unused", now_ms=20, expires_at=150) == Login(
        Binding.BOUND, NEW
    )
    assert storage.log_in(NEW, DEVICE, "c-2", "unused", now_ms=30, expires_at=150) == Login(
        Binding.OTHER_MEMBER
    )
    assert rows(storage, "SELECT count(*) FROM sessions") == [(2,)]
    assert session_id == SESSION


def test_events_keep_only_the_customer_id_bound_to_their_session(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    storage.store_events([event(customer_id="c-1")], received_at=1, session_expires_at=100)
    log_in(storage, "c-1", 2)
    storage.store_events(
        [event(session_id=NEW, customer_id="c-1"), event(session_id=NEW, customer_id="c-2")],
        received_at=3,
        session_expires_at=100,
    )
    # An event of the old session still waiting in an outbox: stored, anonymous.
    storage.store_events([event(customer_id="c-1")], received_at=4, session_expires_at=100)
    assert rows(storage, "SELECT customer_id FROM events ORDER BY rowid") == [
        (None,),
        ("c-1",),
        (None,),
        (None,),
    ]


def test_an_ended_session_stays_ended_and_lends_no_member(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    log_in(storage, "c-1", 10)
    storage.end_session(NEW, DEVICE, now_ms=20)
    late = event(session_id=NEW, customer_id="c-1")  # a batch in flight at logout
    storage.store_events([late], received_at=21, session_expires_at=121)
    assert rows(
        storage, f"SELECT expires_at, ended_at FROM sessions WHERE session_id = '{NEW}'"
    ) == [(20, 20)]
    assert rows(storage, "SELECT customer_id FROM events") == [(None,)]
    assert storage.renew_session(NEW, DEVICE, now_ms=22, expires_at=122) is None
    assert storage.log_in(NEW, DEVICE, "c-1", "x", now_ms=23, expires_at=123) == Login(
        Binding.SESSION_OVER
    )


def test_an_event_id_of_another_device_is_refused_and_a_repeat_skipped(storage: Store) -> None:
    first = event()
    assert storage.store_events([first], received_at=1, session_expires_at=10) == frozenset()
    same_device = event(event_id=first.event_id, session_id="s2", event_name="again")
    other_device = event(event_id=first.event_id, device_id=str(uuid.uuid4()), session_id="s3")
    fresh = event(device_id=other_device.device_id, session_id="s3")
    assert storage.store_events([same_device], received_at=2, session_expires_at=10) == frozenset()
    assert storage.store_events(
        [other_device, fresh], received_at=3, session_expires_at=10
    ) == frozenset({first.event_id})
    assert rows(storage, "SELECT event_id, device_id, session_id FROM events ORDER BY rowid") == [
        (first.event_id, DEVICE, SESSION),
        (fresh.event_id, fresh.device_id, "s3"),
    ]


def test_expired_sessions_are_deleted_in_small_batches(storage: Store) -> None:
    for n in range(5):
        storage.create_session(f"s{n}", DEVICE, now_ms=0, expires_at=100 + n)
    storage.create_session("live", DEVICE, now_ms=0, expires_at=1000)
    # Kept for 50 ms after they expire: at 152, the sessions that expired before 102 go.
    assert storage.expire_sessions(now_ms=152, keep_ms=50, limit=10) == 2
    assert storage.expire_sessions(now_ms=1000, keep_ms=50, limit=2) == 2
    assert storage.expire_sessions(now_ms=1000, keep_ms=50, limit=2) == 1
    assert storage.expire_sessions(now_ms=1000, keep_ms=50, limit=2) == 0
    assert rows(storage, "SELECT session_id FROM sessions") == [("live",)]


def test_events_past_retention_are_deleted_in_small_batches(storage: Store) -> None:
    old = [event() for _ in range(5)]
    storage.store_events(old, received_at=100, session_expires_at=0)
    kept = event()
    storage.store_events([kept], received_at=200, session_expires_at=0)
    assert storage.delete_events_received_before(100, limit=10) == 0
    assert storage.delete_events_received_before(101, limit=3) == 3
    assert storage.delete_events_received_before(101, limit=3) == 2
    assert storage.delete_events_received_before(101, limit=3) == 0
    assert [e["event_id"] for e in storage.list_events(None, None, 10)] == [kept.event_id]


def test_an_erased_device_stores_no_event_and_no_session_through_its_window(
    storage: Store,
) -> None:
    window = 7 * 24 * 3600 * 1000  # the stores' default
    other = event(device_id=str(uuid.uuid4()), session_id="s2")
    storage.store_events([event(), event(), other], received_at=10, session_expires_at=0)
    storage.create_session(SESSION, DEVICE, now_ms=10, expires_at=100)
    storage.mark_erased(DEVICE, now_ms=20)
    storage.mark_erased(DEVICE, now_ms=15)  # an older time never shortens the window
    assert storage.delete_device_events(DEVICE, limit=1) == 1
    assert storage.delete_device_events(DEVICE, limit=1) == 1
    assert storage.delete_device_events(DEVICE, limit=1) == 0
    assert storage.delete_device_sessions(DEVICE) == 1
    assert storage.device_events(DEVICE, None, 10) == []
    assert [e["event_id"] for e in storage.device_events(other.device_id, None, 10)] == [
        other.event_id
    ]

    retried, neighbour = event(), event(device_id=other.device_id, session_id="s2")
    written = storage.store_batches([BatchWrite([retried, neighbour], 19 + window, 0)])
    assert written == GroupWritten(new=1, refused=[frozenset()], erased=1)
    storage.create_session("s3", DEVICE, now_ms=19 + window, expires_at=10**15)
    assert storage.device_events(DEVICE, None, 10) == []
    assert rows(storage, "SELECT count(*) FROM sessions") == [(0,)]
    assert storage.log_in("s3", DEVICE, "ada", "s4", 19 + window, 10**15) == Login(
        Binding.SESSION_OVER
    )

    # The window has passed; its mark goes with the next sweep.
    storage.store_events([retried], received_at=20 + window, session_expires_at=0)
    assert [e["event_id"] for e in storage.device_events(DEVICE, None, 10)] == [retried.event_id]
    assert storage.forget_erasures_before(20, limit=10) == 0
    assert storage.forget_erasures_before(21, limit=10) == 1
    assert rows(storage, "SELECT count(*) FROM erased_devices") == [(0,)]


def test_stored_data_that_is_not_readable_json_is_answered_without_it(
    sqlite_storage: SqliteStore,
) -> None:
    """Rows an older collector stored: one answered as null with why, the others unharmed."""
    storage = sqlite_storage
    good = event()
    storage.store_events([good], received_at=1, session_expires_at=10)
    deep = '{"d":' + "[" * 900 + "]" * 900 + "}"
    with closing(sqlite3.connect(storage.path)) as db:
        for text in ['{"x":Infinity}', deep, "not json"]:
            db.execute(
                "INSERT INTO events (event_id, event_name, timestamp, device_id, session_id, "
                "data, received_at) VALUES (?, 'e', 1, ?, ?, ?, 2)",
                (str(uuid.uuid4()), DEVICE, SESSION, text),
            )
        db.commit()
    read = storage.list_events(None, None, 10)
    assert [e.get("data_error") for e in read] == [
        "stored data is not valid JSON",
        "stored data.d.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 "
        "is nested more than 32 levels deep",
        "stored data is not valid JSON",  # {"x":Infinity}
        None,
    ]
    assert [e["data"] for e in read] == [None, None, None, good.data]


def test_events_arriving_after_a_session_idled_out_do_not_revive_it(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    storage.store_events([event()], received_at=150, session_expires_at=250)
    assert rows(storage, "SELECT expires_at FROM sessions") == [(100,)]
    assert len(rows(storage, "SELECT * FROM events")) == 1  # stored all the same


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE sessions (session_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, "
            "created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)"
        )
        # Version 1 had the events table too (migration 5 adds columns to it).
        db.execute(
            "CREATE TABLE events (event_id TEXT PRIMARY KEY, event_name TEXT NOT NULL, "
            "timestamp INTEGER NOT NULL, device_id TEXT NOT NULL, session_id TEXT NOT NULL, "
            "customer_id TEXT, url TEXT, referer TEXT, page_title TEXT, content_type TEXT, "
            "content_id TEXT, publisher TEXT, object_type TEXT, object_id TEXT, context TEXT, "
            "conversion_pv_id TEXT, url_in_click TEXT, data TEXT, received_at INTEGER NOT NULL)"
        )
        db.execute("INSERT INTO sessions VALUES (?, ?, 0, 100)", (SESSION, DEVICE))
        db.execute("PRAGMA user_version=1")
        db.commit()
    storage = SqliteStore(path)
    storage.open()
    try:
        assert log_in(storage, "c-1", 10) == Login(Binding.BOUND, NEW)
    finally:
        storage.close()
    assert rows(storage, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert {row[1] for row in rows(storage, "PRAGMA table_info(sessions)")} >= {
        "customer_id",
        "ended_at",
    }


def test_stored_events_extend_their_session(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    storage.store_events([event()], received_at=90, session_expires_at=190)
    assert rows(storage, "SELECT expires_at FROM sessions") == [(190,)]
    storage.store_events([event()], received_at=80, session_expires_at=180)
    assert rows(storage, "SELECT expires_at FROM sessions") == [(190,)]


def test_closed_storage_refuses_work(tmp_path: Path) -> None:
    storage = SqliteStore(tmp_path / "events.sqlite3")
    assert not storage.is_open
    with pytest.raises(StorageClosedError):
        storage.list_events(None, None, 1)


def test_reopen_keeps_data(tmp_path: Path) -> None:
    storage = SqliteStore(tmp_path / "events.sqlite3")
    storage.open()
    storage.store_events([event()], received_at=1, session_expires_at=10)
    storage.close()
    storage.open()
    assert len(storage.list_events(None, None, 10)) == 1
    storage.close()


def test_a_group_of_batches_is_stored_in_one_call(storage: Store) -> None:
    storage.create_session(SESSION, DEVICE, now_ms=0, expires_at=100)
    other = str(uuid.uuid4())
    storage.create_session("s2", other, now_ms=0, expires_at=100)
    assert log_in(storage, "c-1", 1) == Login(Binding.BOUND, NEW)  # until 101
    known = event(session_id=NEW)
    storage.store_events([known], received_at=2, session_expires_at=102)
    mine = [event(session_id=NEW, customer_id="c-1"), known]
    theirs = [event(session_id="s2", device_id=other, customer_id="c-1")]
    written = storage.store_batches(
        [BatchWrite(mine, 10, 110), BatchWrite(theirs, 11, 111), BatchWrite([known], 12, 112)]
    )
    assert written == GroupWritten(2, [frozenset()] * 3)  # the known event is stored once
    assert rows(storage, "SELECT session_id, expires_at FROM sessions ORDER BY session_id") == [
        (NEW, 112),  # extended by the latest batch of the group that carried it
        (SESSION, 1),  # ended by the login
        ("s2", 111),
    ]
    assert rows(
        storage, "SELECT event_id, customer_id, received_at FROM events ORDER BY rowid"
    ) == [
        (known.event_id, None, 2),
        (mine[0].event_id, "c-1", 10),
        (theirs[0].event_id, None, 11),  # c-1 is bound to the other session, not this one
    ]


def test_a_group_that_fails_stores_nothing(storage: Store) -> None:
    good = event()
    bad = event()
    object.__setattr__(bad, "data", {"x": object()})  # past validation: cannot be stored
    with pytest.raises(TypeError):
        storage.store_batches([BatchWrite([good], 1, 10), BatchWrite([bad], 1, 10)])
    assert rows(storage, "SELECT * FROM events") == []
    assert storage.store_batches([BatchWrite([good], 2, 10)]).new == 1


def test_an_id_two_devices_send_in_one_group_belongs_to_the_first(storage: Store) -> None:
    other = str(uuid.uuid4())
    mine = event()
    theirs = event(event_id=mine.event_id, device_id=other, session_id="s2")
    written = storage.store_batches(
        [BatchWrite([mine], 1, 10), BatchWrite([theirs], 1, 10), BatchWrite([mine], 2, 10)]
    )
    assert written == GroupWritten(1, [frozenset(), frozenset({mine.event_id}), frozenset()])
    assert rows(storage, "SELECT event_id, device_id FROM events") == [(mine.event_id, DEVICE)]


def test_export_reads_in_pages_from_a_time_on(storage: Store) -> None:
    early, *same_time = [event() for _ in range(5)]
    storage.store_events([early], received_at=5, session_expires_at=10)
    storage.store_events(same_time, received_at=7, session_expires_at=10)
    expected = sorted(e.event_id for e in same_time)
    first = storage.export_events(6, None, 3)
    assert [e["event_id"] for e in first] == expected[:3]
    assert first[0] == {**next(e for e in same_time if e.event_id == expected[0]).model_dump(),
                        "received_at": 7, **dict.fromkeys(CAMPAIGN_PARAMS)}  # fmt: skip
    rest = storage.export_events(6, (7, expected[2]), 3)
    assert [e["event_id"] for e in rest] == expected[3:]
    assert storage.export_events(0, None, 10)[0]["event_id"] == early.event_id
