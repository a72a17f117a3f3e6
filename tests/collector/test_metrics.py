"""`GET /metrics`: Prometheus text, behind the admin key, counting what a scrape should see."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from .support import Collector, make_event


def samples(collector: Collector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = collector.client.get("/metrics", headers=collector.admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_need_the_admin_key(collector: Collector) -> None:
    assert collector.client.get("/metrics").status_code == 401
    wrong = collector.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_metrics_count_requests_events_refusals_and_duplicates(collector: Collector) -> None:
    session = collector.new_session()
    good: list[dict[str, Any]] = [make_event(session), make_event(session)]
    assert collector.post_events(session, good).status_code == 200
    assert collector.post_events(session, good[:1]).status_code == 200  # a retry
    mixed = [make_event(session), make_event(session, timestamp="x"), make_event(session)]
    mixed.append(make_event(session, session_id="someone-else"))
    assert collector.post_events(session, mixed).status_code == 200
    assert collector.client.post("/v1/events", json={"events": []}).status_code == 403
    found = samples(collector)
    assert found[("allegro_events_stored_total", ())] == 4
    assert found[("allegro_events_duplicate_total", ())] == 1
    assert found[("allegro_events_refused_total", (("reason", "invalid"),))] == 1
    assert found[("allegro_events_refused_total", (("reason", "wrong_session"),))] == 1
    events_200 = (("endpoint", "/v1/events"), ("method", "POST"), ("status", "200"))
    assert found[("allegro_http_requests_total", events_200)] == 3
    events_403 = (("endpoint", "/v1/events"), ("method", "POST"), ("status", "403"))
    assert found[("allegro_http_requests_total", events_403)] == 1
    assert found[("allegro_write_seconds_count", ())] >= 1  # groups committed
    assert found[("allegro_committed_batches_total", ())] == 3
    assert found[("allegro_ingest_pending", ())] == 0
    assert found[("allegro_batches_shed_total", ())] == 0


def test_unknown_paths_share_one_label(collector: Collector) -> None:
    for path in ("/a", "/b", "/c"):
        assert collector.client.get(path).status_code == 404
    found = samples(collector)
    other = (("endpoint", "other"), ("method", "GET"), ("status", "404"))
    assert found[("allegro_http_requests_total", other)] == 3
    assert not any("/a" in str(labels) for _, labels in found)
