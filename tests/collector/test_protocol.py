"""The collector and the SDK agree: the collector validates with the protocol's limits, and the
request bodies the SDK builds (allegro_sdk/core/protocol.py) are what its models accept."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from allegro_collector.schemas import (
    Event,
    EventBatch,
    MemberLogin,
    MemberLogout,
    SessionRequest,
    first_error,
)
from allegro_sdk.core import protocol

DEVICE = str(uuid.uuid4())
SESSION = str(uuid.uuid4())


def event(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_name": "page_view",
        "timestamp": 1_790_000_000_000,
        "device_id": DEVICE,
        "session_id": SESSION,
    }
    values.update(overrides)
    return values


def refused_field(model: type[BaseModel], raw: dict[str, Any]) -> str | None:
    try:
        model.model_validate(raw)
    except ValidationError as exc:
        return first_error(exc)[0]
    return None


def data_of_size(size: int) -> dict[str, str]:
    """A `data` object exactly `size` bytes long as compact JSON."""
    return {"k": "x" * (size - len('{"k":""}'))}


@pytest.mark.parametrize(
    ("field", "at_limit", "over_limit"),
    [
        ("event_name", "n" * protocol.MAX_NAME_CHARS, "n" * (protocol.MAX_NAME_CHARS + 1)),
        ("session_id", "s" * protocol.MAX_ID_CHARS, "s" * (protocol.MAX_ID_CHARS + 1)),
        ("page_title", "t" * protocol.MAX_TEXT_CHARS, "t" * (protocol.MAX_TEXT_CHARS + 1)),
        ("customer_id", "c" * protocol.MAX_TEXT_CHARS, "c" * (protocol.MAX_TEXT_CHARS + 1)),
        ("data", data_of_size(protocol.MAX_DATA_BYTES), data_of_size(protocol.MAX_DATA_BYTES + 1)),
    ],
)
def test_the_collectors_event_limits_are_the_protocols(
    field: str, at_limit: object, over_limit: object
) -> None:
    assert refused_field(Event, event(**{field: at_limit})) is None
    assert refused_field(Event, event(**{field: over_limit})) == field


def test_the_collectors_batch_limit_is_the_protocols() -> None:
    assert protocol.BATCH_EVENTS <= protocol.MAX_BATCH_EVENTS
    assert refused_field(EventBatch, {"events": [{}] * protocol.MAX_BATCH_EVENTS}) is None
    assert refused_field(EventBatch, {"events": [{}] * (protocol.MAX_BATCH_EVENTS + 1)}) == "events"


def test_the_member_login_limit_is_the_protocols() -> None:
    login = {"device_id": DEVICE, "session_id": SESSION, "token": "t"}
    longest = "c" * protocol.MAX_TEXT_CHARS
    assert refused_field(MemberLogin, {**login, "customer_id": longest}) is None
    too_long = longest + "c"
    assert refused_field(MemberLogin, {**login, "customer_id": too_long}) == "customer_id"


def test_the_sdks_session_requests_are_what_the_collector_accepts() -> None:
    new = SessionRequest.model_validate_json(protocol.session_request(DEVICE, None, None))
    assert (new.device_id, new.session_id, new.csrf_token) == (DEVICE, None, None)
    renewal = protocol.session_request(DEVICE, SESSION, "v1.k.proof")
    got = SessionRequest.model_validate_json(renewal)
    assert (got.device_id, got.session_id, got.csrf_token) == (DEVICE, SESSION, "v1.k.proof")


def test_the_sdks_member_requests_are_what_the_collector_accepts() -> None:
    login = MemberLogin.model_validate_json(
        protocol.member_login(DEVICE, SESSION, 'ada \u00e9"', "jwt")
    )
    assert (login.device_id, login.session_id, login.customer_id, login.token) == (
        DEVICE,
        SESSION,
        'ada \u00e9"',
        "jwt",
    )
    logout = MemberLogout.model_validate_json(protocol.member_logout(DEVICE, SESSION))
    assert (logout.device_id, logout.session_id) == (DEVICE, SESSION)


@pytest.mark.parametrize("csrf_token", [None, "v1.k.token"])
def test_the_sdks_event_batches_are_what_the_collector_accepts(csrf_token: str | None) -> None:
    stored = [
        {"event_id": str(uuid.uuid4()), "event_name": "page_view", "timestamp": 1, "url": "a\nb"},
        {"event_id": str(uuid.uuid4()), "event_name": "buy", "timestamp": 2, "data": {"p": 1.5}},
    ]
    texts = [json.dumps(item, separators=(",", ":")) for item in stored]
    body = protocol.events_batch(SESSION, DEVICE, texts, csrf_token)
    batch = EventBatch.model_validate_json(body)
    assert batch.csrf_token == csrf_token
    events = [Event.model_validate(raw) for raw in batch.events]
    assert [e.model_dump(exclude_none=True) for e in events] == [
        {**item, "session_id": SESSION, "device_id": DEVICE} for item in stored
    ]
