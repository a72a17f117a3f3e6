from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from allegro_collector.settings import Settings
from allegro_collector.tokens import verify

from .support import Collector, StartCollector

MINUTE_MS = 60_000


def test_new_session(collector: Collector) -> None:
    collector.clock.now = 1_790_000_000_000
    device = str(uuid.uuid4())
    response = collector.client.post("/v1/sessions", json={"device_id": device})
    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body["session_id"]).version == 4
    assert body["expires_at"] == 1_790_000_000_000 + 30 * MINUTE_MS
    claims = verify(body["csrf_token"], collector.settings.verification_keys, collector.clock())
    assert (claims.session_id, claims.device_id) == (body["session_id"], device)
    assert collector.db_rows("SELECT session_id, device_id FROM sessions") == [
        (body["session_id"], device)
    ]


def test_renewal_keeps_the_id_with_a_fresh_token_and_expiry(collector: Collector) -> None:
    collector.clock.now = 1_790_000_000_000
    first = collector.new_session()
    collector.clock.now += 20 * MINUTE_MS
    response = collector.renew(first)
    assert response.status_code == 201
    renewed = response.json()
    assert renewed["session_id"] == first["session_id"]
    assert renewed["csrf_token"] != first["csrf_token"]
    assert renewed["expires_at"] == first["expires_at"] + 20 * MINUTE_MS
    assert len(collector.db_rows("SELECT * FROM sessions")) == 1


def test_unknown_session_gets_a_new_one(collector: Collector) -> None:
    device = str(uuid.uuid4())
    unknown = str(uuid.uuid4())
    response = collector.client.post(
        "/v1/sessions", json={"device_id": device, "session_id": unknown}
    )
    assert response.status_code == 201
    assert response.json()["session_id"] != unknown


def test_another_devices_session_is_not_renewed(collector: Collector) -> None:
    victim = collector.new_session()
    response = collector.client.post(
        "/v1/sessions",
        json={"device_id": str(uuid.uuid4()), "session_id": victim["session_id"]},
    )
    assert response.status_code == 201
    assert response.json()["session_id"] != victim["session_id"]


def test_renewal_needs_the_sessions_token_as_proof(collector: Collector) -> None:
    """Session and device ids are in every stored event: knowing them takes over nothing."""
    victim = collector.new_session()
    other = collector.new_session(victim["device_id"])
    for proof in (None, "forged", other["csrf_token"]):
        response = collector.renew(victim, csrf_token=proof)
        assert response.status_code == 201
        assert response.json()["session_id"] != victim["session_id"]
    assert collector.renew(victim).json()["session_id"] == victim["session_id"]


def test_an_expired_token_still_proves_a_live_session(collector: Collector) -> None:
    collector.clock.now = 1_790_000_000_000
    session = collector.new_session()
    collector.clock.now += 29 * MINUTE_MS
    assert collector.renew(session).json()["session_id"] == session["session_id"]
    collector.clock.now += 29 * MINUTE_MS  # the session lives on; its first token expired
    renewed = collector.renew(session)  # 28 minutes ago, and is still proof of holding it
    assert renewed.json()["session_id"] == session["session_id"]


def test_idle_session_is_not_renewed(collector: Collector) -> None:
    collector.clock.now = 1_790_000_000_000
    first = collector.new_session()
    collector.clock.now += 31 * MINUTE_MS
    response = collector.renew(first)
    assert response.json()["session_id"] != first["session_id"]


def test_bad_request_is_400_naming_the_field(collector: Collector) -> None:
    for body, field in [
        ({"device_id": "nope"}, "device_id"),
        ({}, "device_id"),
        ({"device_id": str(uuid.uuid4()), "session_id": 5}, "session_id"),
        ({"device_id": str(uuid.uuid4()), "extra": 1}, "extra"),
        ([], None),
    ]:
        response = collector.client.post("/v1/sessions", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["field"] == field


def limited(start_collector: StartCollector, settings: Settings, **limits: Any) -> Collector:
    return start_collector(dataclasses.replace(settings, **limits))


def test_new_sessions_per_device_are_limited_with_429_and_retry_after(
    start_collector: StartCollector, settings: Settings
) -> None:
    collector = limited(start_collector, settings, sessions_per_device_minute=3)
    collector.clock.now = 1_790_000_000_000
    device = str(uuid.uuid4())
    sessions = [collector.new_session(device) for _ in range(3)]
    refused = collector.client.post("/v1/sessions", json={"device_id": device})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"  # one new session per 20 s at 3 a minute
    assert refused.json()["error"] == {
        "field": "device_id",
        "message": "too many new sessions from this device (at most 3 a minute); retry in 20 s",
    }
    # Renewing creates nothing: never limited. Other devices are not affected.
    assert collector.renew(sessions[-1]).json()["session_id"] == sessions[-1]["session_id"]
    collector.new_session()
    collector.clock.now += 20_000
    collector.new_session(device)
    assert collector.client.post("/v1/sessions", json={"device_id": device}).status_code == 429
    assert collector.db_rows("SELECT count(*) FROM sessions") == [(5,)]


def test_new_sessions_per_client_address_are_limited(
    start_collector: StartCollector, settings: Settings
) -> None:
    collector = limited(start_collector, settings, sessions_per_address_minute=4)
    collector.clock.now = 1_790_000_000_000
    for _ in range(4):
        collector.new_session()
    refused = collector.client.post("/v1/sessions", json={"device_id": str(uuid.uuid4())})
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "15")
    assert refused.json()["error"]["field"] is None
    assert "from the address 127.0.0.1 (at most 4 a minute)" in refused.json()["error"]["message"]
    # X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
    forged = collector.client.post(
        "/v1/sessions",
        json={"device_id": str(uuid.uuid4())},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert forged.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    start_collector: StartCollector, settings: Settings
) -> None:
    collector = limited(
        start_collector, settings, sessions_per_address_minute=2, trusted_proxies=("127.0.0.0/8",)
    )
    collector.clock.now = 1_790_000_000_000

    def create(forwarded: str) -> int:
        return collector.client.post(
            "/v1/sessions",
            json={"device_id": str(uuid.uuid4())},
            headers={"X-Forwarded-For": forwarded},
        ).status_code

    # The client may put anything on the left; the proxy appends the address it saw.
    assert [create("1.2.3.4, 203.0.113.9") for _ in range(3)] == [201, 201, 429]
    assert [create("198.51.100.7") for _ in range(3)] == [201, 201, 429]
    assert create("203.0.113.9, 127.0.0.1") == 429  # a trusted hop is skipped


def test_the_default_limits_let_a_whole_nat_through(collector: Collector) -> None:
    """Hundreds of visitors behind one address, each starting a session at once."""
    collector.clock.now = 1_790_000_000_000
    for _ in range(300):
        collector.new_session()
    device = str(uuid.uuid4())
    for _ in range(10):  # one visitor opening ten tabs with cookies blocked
        collector.new_session(device)


def test_idle_sessions_are_deleted_by_the_periodic_sweep(
    start_collector: StartCollector, settings: Settings
) -> None:
    collector = limited(
        start_collector,
        settings,
        expired_session_keep_ms=60_000,
        sweep_interval_seconds=0.1,
    )
    collector.clock.now = 1_790_000_000_000
    idle, active = collector.new_session(), collector.new_session()
    collector.clock.now += 29 * 60_000
    assert collector.renew(active).status_code == 201
    # 30 minutes idle, then the minute expired sessions are kept: the idle one goes.
    collector.clock.now += 2 * 60_000 + 1
    deadline = time.monotonic() + 10
    while collector.db_rows("SELECT count(*) FROM sessions") != [(1,)]:
        assert time.monotonic() < deadline, "the idle session was not deleted"
        time.sleep(0.05)
    assert collector.db_rows("SELECT session_id FROM sessions") == [(active["session_id"],)]
    assert collector.renew(idle).json()["session_id"] != idle["session_id"]
