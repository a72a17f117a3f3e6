"""`GET /v1/events/export`: every stored event as NDJSON, streamed, behind the admin key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from allegro_collector import export_api

from .support import Collector, make_event


def export(collector: Collector, **params: Any) -> list[dict[str, Any]]:
    with collector.client.stream(
        "GET", "/v1/events/export", params=params, headers=collector.admin_headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        return [json.loads(line) for line in response.iter_lines() if line]


def test_export_needs_the_admin_key(collector: Collector) -> None:
    assert collector.client.get("/v1/events/export").status_code == 401


def test_export_streams_more_than_a_page_in_order(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_api, "PAGE_SIZE", 7)  # several pages from a few events
    session = collector.new_session()
    collector.clock.now = 1_000
    first = [make_event(session) for _ in range(10)]
    assert collector.post_events(session, first).status_code == 200
    collector.clock.now = 2_000
    second = [make_event(session) for _ in range(12)]
    assert collector.post_events(session, second).status_code == 200
    everything = export(collector)
    assert [e["event_id"] for e in everything] == sorted(e["event_id"] for e in first) + sorted(
        e["event_id"] for e in second
    )
    assert everything[0]["data"] == {"price": 9.99, "tags": ["a", "b"]}
    assert {e["received_at"] for e in everything} == {1_000, 2_000}
    later = export(collector, since=1_500)
    assert [e["event_id"] for e in later] == sorted(e["event_id"] for e in second)
    assert export(collector, since=2_001) == []


@pytest.mark.parametrize("since", ["-1", "x", "1.5", "9" * 16])
def test_a_bad_since_is_400_naming_it(collector: Collector, since: str) -> None:
    response = collector.client.get(
        "/v1/events/export", params={"since": since}, headers=collector.admin_headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "since"
