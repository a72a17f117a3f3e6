"""`DELETE /v1/devices/{id}` (erasure) and `GET /v1/devices/{id}/events` (access), over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from allegro_collector import devices_api, export_api
from allegro_collector.settings import DAY_MS

from .support import Collector, make_event
from .test_metrics import samples

NOW = 1_790_000_000_000


def erase(collector: Collector, device_id: str) -> dict[str, Any]:
    response = collector.client.delete(f"/v1/devices/{device_id}", headers=collector.admin_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def export(collector: Collector, device_id: str) -> list[dict[str, Any]]:
    with collector.client.stream(
        "GET", f"/v1/devices/{device_id}/events", headers=collector.admin_headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        return [json.loads(line) for line in response.iter_lines() if line]


def test_erasure_deletes_every_event_and_session_of_the_device_and_counts_them(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devices_api, "BATCH_ROWS", 4)  # several delete batches from a few events
    collector.clock.now = NOW
    device = str(uuid.uuid4())
    first, second = collector.new_session(device), collector.new_session(device)
    other = collector.new_session()
    erased_events = [make_event(first) for _ in range(6)] + [make_event(second) for _ in range(3)]
    kept = make_event(other)
    assert collector.post_events(first, erased_events[:6]).status_code == 200
    assert collector.post_events(second, erased_events[6:]).status_code == 200
    assert collector.post_events(other, [kept]).status_code == 200

    collector.clock.now = NOW + 1_000
    assert erase(collector, device) == {
        "device_id": device,
        "events_deleted": 9,
        "sessions_deleted": 2,
        "erased_at": NOW + 1_000,
        "not_stored_until": NOW + 1_000 + 7 * DAY_MS,
    }
    assert collector.stored(device_id=device) == []
    assert [e["event_id"] for e in collector.stored()] == [kept["event_id"]]
    assert collector.db_rows("SELECT session_id FROM sessions") == [(other["session_id"],)]
    assert export(collector, device) == []
    # Again: nothing left, harmless.
    assert erase(collector, device)["events_deleted"] == 0


def test_an_erased_devices_retries_are_acknowledged_and_not_stored(collector: Collector) -> None:
    collector.clock.now = NOW
    session = collector.new_session()
    device = session["device_id"]
    sent = make_event(session)
    assert collector.post_events(session, [sent]).status_code == 200
    assert erase(collector, device)["events_deleted"] == 1

    # The browser's outbox sends the event again (it never saw the answer), and a new one.
    collector.clock.now = NOW + 60_000
    new = make_event(session)
    retry = collector.post_events(session, [sent, new])
    assert retry.status_code == 200
    assert retry.json() == {"accepted": [sent["event_id"], new["event_id"]], "rejected": []}
    assert collector.stored(device_id=device) == []
    found = samples(collector)  # neither stored nor duplicates
    assert found[("allegro_events_stored_total", ())] == 1
    assert found[("allegro_events_duplicate_total", ())] == 0
    erasures = (("endpoint", "/v1/devices/{device_id}"), ("method", "DELETE"), ("status", "200"))
    assert found[("allegro_http_requests_total", erasures)] == 1
    # Days later, a new session is answered as usual (the SDK keeps working quietly) but is
    # not stored, nor are its events.
    collector.clock.now = NOW + 6 * DAY_MS
    fresh = collector.new_session(device)
    assert collector.post_events(fresh, [make_event(fresh)]).status_code == 200
    assert collector.stored(device_id=device) == []
    assert collector.db_rows("SELECT count(*) FROM sessions WHERE device_id = ?", device) == [(0,)]

    # Past the window the device is a device like any other again.
    collector.clock.now = NOW + 7 * DAY_MS + 1
    later = collector.new_session(device)
    event = make_event(later)
    assert collector.post_events(later, [event]).status_code == 200
    assert [e["event_id"] for e in collector.stored(device_id=device)] == [event["event_id"]]


def test_other_devices_in_the_same_batch_are_stored(collector: Collector) -> None:
    collector.clock.now = NOW
    erased = collector.new_session()
    erase(collector, erased["device_id"])
    neighbour = collector.new_session()
    # Two requests written in one group commit or not, each device on its own.
    kept = make_event(neighbour)
    assert collector.post_events(erased, [make_event(erased)]).status_code == 200
    assert collector.post_events(neighbour, [kept]).status_code == 200
    assert [e["event_id"] for e in collector.stored()] == [kept["event_id"]]


def test_export_answers_the_devices_events_oldest_first_in_pages(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_api, "PAGE_SIZE", 3)
    session, other = collector.new_session(), collector.new_session()
    collector.clock.now = NOW
    first = [make_event(session) for _ in range(4)]
    assert collector.post_events(session, first).status_code == 200
    assert collector.post_events(other, [make_event(other)]).status_code == 200
    collector.clock.now = NOW + 5
    second = [make_event(session, data={"n": 2}) for _ in range(3)]
    assert collector.post_events(session, second).status_code == 200

    exported = export(collector, session["device_id"])
    assert [e["event_id"] for e in exported] == sorted(e["event_id"] for e in first) + sorted(
        e["event_id"] for e in second
    )
    assert {e["device_id"] for e in exported} == {session["device_id"]}
    assert exported[0]["data"] == {"price": 9.99, "tags": ["a", "b"]}
    assert exported[-1]["received_at"] == NOW + 5
    assert export(collector, str(uuid.uuid4())) == []


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/v1/devices/{}"), ("GET", "/v1/devices/{}/events")]
)
def test_both_need_the_admin_key_and_a_device_id(
    collector: Collector, method: str, path: str
) -> None:
    session = collector.new_session()
    assert collector.post_events(session, [make_event(session)]).status_code == 200
    device = session["device_id"]
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = collector.client.request(method, path.format(device), headers=headers)
        assert response.status_code == 401
    for bad in ("not-a-uuid", device.upper()):
        response = collector.client.request(
            method, path.format(bad), headers=collector.admin_headers
        )
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "device_id"
    assert len(collector.stored(device_id=device)) == 1
