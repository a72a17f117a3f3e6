from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing

import psycopg
import pytest

from allegro_collector.settings import Settings

from .support import ADMIN_KEY, Collector, StartCollector, make_event, make_settings, with_members
from .test_members_api import log_in, member_session


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": ADMIN_KEY},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"Authorization": "Bearer"},
    ],
)
def test_without_the_admin_key_is_401(collector: Collector, headers: dict[str, str]) -> None:
    response = collector.client.get("/v1/events", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"error": {"field": None, "message": "a valid admin key is required"}}


def test_no_admin_key_configured_refuses_everyone(
    start_collector: Callable[[Settings], Collector], settings: Settings
) -> None:
    locked = start_collector(make_settings(settings.db_path, admin_key=None))
    for headers in [{}, {"Authorization": "Bearer x"}, {"Authorization": "Bearer None"}]:
        assert locked.client.get("/v1/events", headers=headers).status_code == 401


def test_newest_first_with_filters_and_limit(collector: Collector) -> None:
    collector.clock.now = 1_790_000_000_000
    a, b = collector.new_session(), collector.new_session()
    a1, a2, b1 = make_event(a), make_event(a), make_event(b)
    collector.post_events(a, [a1, a2])
    collector.clock.now += 1
    collector.post_events(b, [b1])

    def ids(**params: str | int) -> list[str]:
        return [event["event_id"] for event in collector.stored(**params)]

    everything = [b1["event_id"], a2["event_id"], a1["event_id"]]
    assert ids() == everything
    assert ids(limit=2) == everything[:2]
    assert ids(session_id=a["session_id"]) == [a2["event_id"], a1["event_id"]]
    assert ids(device_id=b["device_id"]) == [b1["event_id"]]
    assert ids(session_id=a["session_id"], device_id=b["device_id"]) == []
    assert ids(session_id="") == everything  # an empty filter is no filter


def test_default_limit_is_100(collector: Collector) -> None:
    session = collector.new_session()
    collector.post_events(session, [make_event(session) for _ in range(101)])
    assert len(collector.stored()) == 100
    assert len(collector.stored(limit=1000)) == 101


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", "9" * 5000, "\u0663"])
def test_bad_limit_is_400(collector: Collector, limit: str) -> None:
    response = collector.client.get(
        "/v1/events", params={"limit": limit}, headers=collector.admin_headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "limit"


def test_rows_an_older_collector_stored_unreadable_do_not_break_the_read(
    collector: Collector,
) -> None:
    """Data an earlier collector accepted (`Infinity`, nesting 963 deep) is answered as null
    with `data_error`; every other event of the page is answered as usual."""
    session = collector.new_session()
    good = make_event(session)
    assert collector.post_events(session, [good]).status_code == 200
    insert = (
        "INSERT INTO events (event_id, event_name, timestamp, device_id, session_id, "
        "data, received_at) VALUES (?, 'poison', 1, ?, ?, ?, ?)"
    )
    rows = [
        (str(uuid.uuid4()), session["device_id"], session["session_id"], text, 2**62)
        for text in ('{"x":Infinity}', '{"d":' + "[" * 963 + "]" * 963 + "}")
    ]
    url = collector.settings.postgres_url
    if url is not None:
        with psycopg.connect(url) as connection, connection.cursor() as cursor:
            cursor.executemany(insert.replace("?", "%s").encode(), rows)
    else:
        with closing(sqlite3.connect(collector.settings.db_path)) as db:
            db.executemany(insert, rows)
            db.commit()
    for params in ({}, {"device_id": session["device_id"]}):
        events = collector.stored(**params)
        assert [(e["event_name"], e["data"]) for e in events] == [
            ("poison", None),
            ("poison", None),
            ("page_view", good["data"]),
        ]
        assert events[0]["data_error"].startswith("stored data.d.0.0")
        assert events[1]["data_error"] == "stored data is not valid JSON"


def test_the_visited_url_canonical_url_and_campaign_are_read_back(collector: Collector) -> None:
    session = collector.new_session()
    visited = "https://news.example/story?utm_source=newsletter&utm_campaign=fall-sale&gclid=g1"
    sent = make_event(session, url=visited, canonical_url="https://news.example/story")
    collector.post_events(session, [sent])
    [stored] = collector.stored()
    assert stored["url"] == visited
    assert stored["canonical_url"] == "https://news.example/story"
    assert {key: stored[key] for key in ("utm_source", "utm_campaign", "gclid", "utm_medium")} == {
        "utm_source": "newsletter",
        "utm_campaign": "fall-sale",
        "gclid": "g1",
        "utm_medium": None,
    }


def test_filter_by_event_name_member_and_context(
    start_collector: StartCollector, settings: Settings
) -> None:
    members = start_collector(with_members(settings))
    ada, anon = members.new_session(), members.new_session()
    ada = member_session(ada, log_in(members, ada, "ada"))  # login moves ada to a new session
    bought = make_event(ada, event_name="purchase", customer_id="ada")
    watching = make_event(anon, context="live view")
    dashboard = make_event(anon, context="dashboard")
    read = make_event(anon, context="culture")
    bare = make_event(anon)
    members.post_events(ada, [bought])
    members.post_events(anon, [watching, dashboard, read, bare])

    def ids(*params: tuple[str, str]) -> set[str]:
        response = members.client.get(
            "/v1/events", params=list(params), headers=members.admin_headers
        )
        assert response.status_code == 200, response.text
        return {event["event_id"] for event in response.json()["events"]}

    everything = {e["event_id"] for e in (bought, watching, dashboard, read, bare)}
    assert ids() == everything
    assert ids(("event_name", "purchase")) == {bought["event_id"]}
    assert ids(("customer_id", "ada")) == {bought["event_id"]}
    assert ids(("customer_id", "bob")) == set()
    assert ids(("exclude_context", "live view"), ("exclude_context", "dashboard")) == {
        bought["event_id"],
        read["event_id"],
        bare["event_id"],
    }
    assert ids(("event_name", "page_view"), ("exclude_context", "live view")) == {
        dashboard["event_id"],
        read["event_id"],
        bare["event_id"],
    }


def test_a_filter_value_too_long_is_400(collector: Collector) -> None:
    response = collector.client.get(
        "/v1/events", params={"event_name": "x" * 3000}, headers=collector.admin_headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "event_name"
