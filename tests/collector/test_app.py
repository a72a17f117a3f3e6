from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from .support import ALLOWED_ORIGIN, Collector, StartCollector, make_settings

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, x-allegro-csrf",
}


def test_healthz(collector: Collector) -> None:
    response = collector.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_sqlite_database_is_in_wal_mode(start_collector: StartCollector, tmp_path: Path) -> None:
    collector = start_collector(make_settings(tmp_path / "events.sqlite3"))
    with closing(sqlite3.connect(collector.settings.db_path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_preflight_from_an_allowed_origin(collector: Collector) -> None:
    response = collector.client.options(
        "/v1/events", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "x-allegro-csrf" in allowed_headers and "content-type" in allowed_headers
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


def test_preflight_from_another_origin_gets_no_allow_origin(collector: Collector) -> None:
    response = collector.client.options(
        "/v1/events", headers={"Origin": "http://evil.example", **PREFLIGHT}
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_simple_request_gets_allow_origin_only_for_allowed_origins(collector: Collector) -> None:
    allowed = collector.client.get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    other = collector.client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_error_answers_carry_cors_headers(collector: Collector) -> None:
    """So the SDK in the page can read why a batch was refused."""
    response = collector.client.post(
        "/v1/events", json={"events": []}, headers={"Origin": ALLOWED_ORIGIN}
    )
    assert response.status_code == 403
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_unknown_path_and_method_are_json(collector: Collector) -> None:
    missing = collector.client.get("/nope")
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "Not Found")
    wrong_method = collector.client.delete("/v1/events")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"error": {"field": None, "message": "Method Not Allowed"}}
