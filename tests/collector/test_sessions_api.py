from __future__ import annotations

import uuid

from allegro_collector.tokens import verify

from .support import Collector

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
