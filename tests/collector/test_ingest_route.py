"""`POST /v1/events`, answered before the app, gets the answers the app's layers give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .support import ALLOWED_ORIGIN, Collector, StartCollector, make_event, make_settings

OTHER_ORIGIN = "https://elsewhere.example"


def _cors(response: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith("access-control-") or name == "vary"
    }


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {},
        {"allowed_origins": ("*",)},
        {"allowed_origins": (), "allowed_origin_regex": r"https://[a-z]+\.example"},
    ],
    ids=["listed", "any", "pattern"],
)
def test_cors_headers_are_the_apps_for_every_origin(
    start_collector: StartCollector, tmp_path: Path, settings_overrides: dict[str, Any]
) -> None:
    collector = start_collector(make_settings(tmp_path / "events.sqlite3", **settings_overrides))
    session = collector.new_session()
    for origin in (ALLOWED_ORIGIN, OTHER_ORIGIN, None):
        headers = {} if origin is None else {"Origin": origin}
        ingest = collector.post_events(session, [make_event(session)], headers)
        # A refused batch (a 4xx from the ingest route itself) and an answer of the app.
        refused = collector.client.post(
            "/v1/events", json={"events": []}, headers={**headers, "X-Allegro-CSRF": "x"}
        )
        app = collector.client.post("/v1/sessions", json={"device_id": ""}, headers=headers)
        assert (ingest.status_code, refused.status_code, app.status_code) == (200, 403, 400)
        assert _cors(ingest) == _cors(app), origin
        assert _cors(refused) == _cors(app), origin


def test_protocol_version_is_checked_on_the_ingest_route(collector: Collector) -> None:
    session = collector.new_session()
    response = collector.client.post(
        "/v1/events?protocol=999",
        json={"events": [make_event(session)]},
        headers={"X-Allegro-CSRF": session["csrf_token"], "Origin": ALLOWED_ORIGIN},
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "protocol"
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert collector.stored() == []


def test_other_methods_and_paths_still_reach_the_app(collector: Collector) -> None:
    assert collector.client.get("/v1/events").status_code == 401  # the admin read
    put = collector.client.put("/v1/events", json={"events": []})
    assert put.status_code == 405
    assert put.json()["error"]["field"] is None
    preflight = collector.client.options(
        "/v1/events",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
