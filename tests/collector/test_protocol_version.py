"""The collector accepts the SDK's current protocol version and the previous one, over HTTP, and
refuses any other with a 400 naming the field `protocol` before it reads or stores anything."""

from __future__ import annotations

import uuid

import pytest

from allegro_sdk.core import protocol

from .support import ALLOWED_ORIGIN, Collector, make_event


def test_the_sdk_names_the_current_version_in_every_url() -> None:
    assert protocol.request_url("https://c.example/", protocol.EVENTS_PATH) == (
        f"https://c.example/v1/events?protocol={protocol.PROTOCOL_VERSION}"
    )
    assert protocol.ACCEPTED_PROTOCOLS == (
        protocol.PROTOCOL_VERSION - 1,
        protocol.PROTOCOL_VERSION,
    )


@pytest.mark.parametrize(
    "query",
    [
        {"protocol": str(protocol.PROTOCOL_VERSION)},
        {"protocol": str(protocol.PROTOCOL_VERSION - 1)},
        {},  # the bundles from before the version existed: protocol 1
    ],
    ids=["current", "previous", "unversioned"],
)
def test_current_and_previous_versions_are_served(
    collector: Collector, query: dict[str, str]
) -> None:
    device = str(uuid.uuid4())
    answer = collector.client.post("/v1/sessions", params=query, json={"device_id": device})
    assert answer.status_code == 201, answer.text
    session = {**answer.json(), "device_id": device}
    event = make_event(session)
    sent = collector.client.post(
        "/v1/events",
        params=query,
        json={"csrf_token": session["csrf_token"], "events": [event]},
    )
    assert (sent.status_code, sent.json()["accepted"]) == (200, [event["event_id"]])


@pytest.mark.parametrize("version", [str(protocol.PROTOCOL_VERSION + 1), "0", "two", ""])
def test_an_unknown_version_is_refused_naming_the_field(collector: Collector, version: str) -> None:
    session = collector.new_session()
    event = make_event(session)
    refused = collector.client.post(
        "/v1/events",
        params={"protocol": version},
        json={"events": [event]},
        headers={"X-Allegro-CSRF": session["csrf_token"], "Origin": ALLOWED_ORIGIN},
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["field"] == "protocol"
    assert f"unsupported protocol version {version!r}" in error["message"]
    assert "accepts 1 and 2" in error["message"]
    # The page's script may read why: the refusal carries CORS headers like any answer.
    assert refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert collector.stored(session_id=session["session_id"], device_id=session["device_id"]) == []


def test_a_version_given_twice_is_refused(collector: Collector) -> None:
    refused = collector.client.post(
        "/v1/sessions?protocol=2&protocol=1", json={"device_id": str(uuid.uuid4())}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "field": "protocol",
        "message": "the protocol version is given 2 times; give it once",
    }
