"""`GET /v1/stats`: what the stored events add up to since a moment, counted in the database,
and the delivery health this collector process counted in memory since it started."""

from __future__ import annotations

from pathlib import Path

import pytest
from write_gates import HeldGate

from allegro_collector.settings import Settings

from .support import Collector, StartCollector, make_event, make_settings, with_members
from .test_ingest import assert_full, hold, metric, posting_in_background
from .test_members_api import log_in, member_session

NOW = 1_790_000_000_000
MINUTE = 60_000


def stats(collector: Collector, since: int) -> dict[str, object]:
    response = collector.client.get(
        "/v1/stats", params={"since": since}, headers=collector.admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    figures: dict[str, object] = response.json()
    return figures


@pytest.fixture
def members(start_collector: StartCollector, settings: Settings) -> Collector:
    return start_collector(with_members(settings))


def test_the_figures_are_those_of_the_events_received_since(members: Collector) -> None:
    start = NOW - NOW % MINUTE  # the start of a minute
    members.clock.now = start - 1  # one minute earlier, and before `since`: not counted
    old = members.new_session()
    assert members.post_events(old, [make_event(old, url="http://x/old")]).status_code == 200
    members.clock.now = start
    ada, anon = members.new_session(), members.new_session()
    anon2 = members.new_session(device_id=anon["device_id"])  # a second session, same device
    ada = member_session(ada, log_in(members, ada, "ada"))  # login moves ada to a new session
    members.post_events(
        ada,
        [
            make_event(ada, customer_id="ada", url="http://x/a"),
            make_event(ada, customer_id="ada", event_name="purchase", url="http://x/shop"),
        ],
    )
    members.clock.now = start + 2 * MINUTE + 5
    members.post_events(
        anon,
        [make_event(anon, url="http://x/a"), make_event(anon, url="http://x/b")],
    )
    members.post_events(anon2, [make_event(anon2, event_name="video_play", url="http://x/b")])
    members.post_events(anon2, [make_event(anon2, url="http://x/a")])

    figures = stats(members, start)
    assert figures["since"] == start
    assert figures["now"] == start + 2 * MINUTE + 5
    assert (figures["events"], figures["sessions"], figures["devices"]) == (6, 3, 2)
    assert (figures["events_with_member"], figures["members"]) == (2, 1)
    assert figures["per_minute"] == [
        {"minute": start, "events": 2},
        {"minute": start + 2 * MINUTE, "events": 4},
    ]
    assert figures["top_events"] == [
        {"event_name": "page_view", "events": 4},
        {"event_name": "purchase", "events": 1},
        {"event_name": "video_play", "events": 1},
    ]
    # Only page views count for the top pages.
    assert figures["top_pages"] == [
        {"page": "http://x/a", "page_views": 3},
        {"page": "http://x/b", "page_views": 1},
    ]
    # From one minute earlier, the old event counts too.
    assert stats(members, start - MINUTE)["events"] == 7


def test_a_page_is_its_canonical_url_when_it_has_one(collector: Collector) -> None:
    """Campaign visits of one story are one page; a page without canonical_url is its url."""
    collector.clock.now = NOW
    session = collector.new_session()
    story = "https://news.example/story"
    events = [
        make_event(session, url=f"{story}?utm_source=newsletter", canonical_url=story),
        make_event(session, url=f"{story}?utm_source=social&gclid=g1", canonical_url=story),
        make_event(session, url=story, canonical_url=story),
        make_event(session, url="https://news.example/old?page=2"),  # stored before: no canonical
        make_event(session, url="https://news.example/api", canonical_url=""),
    ]
    assert collector.post_events(session, events).status_code == 200
    assert stats(collector, NOW)["top_pages"] == [
        {"page": story, "page_views": 3},
        {"page": "https://news.example/api", "page_views": 1},
        {"page": "https://news.example/old?page=2", "page_views": 1},
    ]


def test_nothing_stored_is_all_zero(collector: Collector) -> None:
    collector.clock.now = NOW
    figures = stats(collector, NOW - 3600_000)
    assert {key: figures[key] for key in ("events", "sessions", "devices", "members")} == {
        "events": 0,
        "sessions": 0,
        "devices": 0,
        "members": 0,
    }
    assert (figures["per_minute"], figures["top_events"], figures["top_pages"]) == ([], [], [])


@pytest.mark.parametrize(
    "since",
    [None, "", "soon", "-5", "1.5", "1" * 16, str(NOW + 1), str(NOW - 32 * 24 * 3600_000)],
)
def test_since_must_be_a_recent_time_in_epoch_ms(collector: Collector, since: str | None) -> None:
    collector.clock.now = NOW
    params = {} if since is None else {"since": since}
    response = collector.client.get("/v1/stats", params=params, headers=collector.admin_headers)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "since"


def test_stats_need_the_admin_key(collector: Collector) -> None:
    response = collector.client.get("/v1/stats", params={"since": "1"})
    assert response.status_code == 401


def test_delivery_health_counts_refusals_duplicates_and_503s_as_metrics_does(
    start_collector: StartCollector, tmp_path: Path
) -> None:
    gate = HeldGate()
    collector = start_collector(
        make_settings(tmp_path / "events.sqlite3", max_pending_batches=1), write_gate=gate
    )
    started = collector.clock()
    session, other = collector.new_session(), collector.new_session()
    good = make_event(session)
    bad = make_event(session, event_name="")
    foreign = make_event(other)  # another session than the token's
    assert collector.post_events(session, [good, bad, foreign]).status_code == 200
    # The same event again (a retry), and twice in one batch: acknowledged, stored once.
    again = make_event(session)
    collector.post_events(session, [good, again, again])
    # A full queue: one batch held at the gate, the next one refused with 503.
    gate.close()
    with posting_in_background(collector, [[make_event(session)]], session) as waiting:
        hold(collector, gate, 1)
        assert_full(collector.post_events(session, [make_event(session)]))
        gate.open()
        assert waiting[0].result().status_code == 200
    delivery = stats(collector, started)["delivery"]
    assert isinstance(delivery, dict)
    assert delivery["counting_since"] >= started - 5000
    assert "since it started" in delivery["scope"]
    assert delivery["refused"] == {"invalid": 1, "wrong_session": 1}
    assert delivery["duplicates"] == 2
    assert delivery["busy_503"] == 1
    # One source: the same counters as GET /metrics.
    assert metric(collector, "allegro_events_duplicate_total") == 2
    assert metric(collector, "allegro_batches_shed_total") == 1
