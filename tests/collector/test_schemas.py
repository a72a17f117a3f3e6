from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from allegro_collector.schemas import (
    MAX_TIMESTAMP_MS,
    Event,
    EventBatch,
    FastEvent,
    SessionRequest,
    fast_batch,
    fast_envelope,
    fast_event,
    first_error,
)
from allegro_sdk.core.protocol import MAX_DATA_BYTES

V7 = "01a0c450-6c7b-7978-a695-a4b3c2d1e0f9"  # what the SDK makes: time first (RFC 9562)


def event(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_name": "page_view",
        "timestamp": 1_790_000_000_000,
        "device_id": str(uuid.uuid4()),
        "session_id": "s-1",
    }
    values.update(overrides)
    return values


def error_of(raw: Any, prefix: str | None = "events.3") -> tuple[str | None, str]:
    with pytest.raises(ValidationError) as caught:
        Event.model_validate(raw)
    return first_error(caught.value, prefix)


def test_minimal_event_defaults_optional_fields_to_none() -> None:
    parsed = Event.model_validate(event())
    assert parsed.customer_id is None and parsed.data is None and parsed.url_in_click is None


def test_full_event_is_accepted() -> None:
    optional = ["customer_id", "url", "referer", "page_title", "content_type", "content_id"]
    optional += ["publisher", "object_type", "object_id", "context", "conversion_pv_id"]
    values = {name: f"{name} value" for name in [*optional, "url_in_click"]}
    parsed = Event.model_validate(event(**values, data={"nested": {"list": [1, 2.5, None]}}))
    assert parsed.model_dump()["url_in_click"] == "url_in_click value"


BAD_FIELDS = [
    ({"page_title": "x" * 2049}, "events.3.page_title", "at most 2048"),
    ({"page_title": 5}, "events.3.page_title", "valid string"),
    ({"event_name": ""}, "events.3.event_name", "at least 1"),
    ({"event_name": "x" * 129}, "events.3.event_name", "at most 128"),
    ({"timestamp": "1790000000000"}, "events.3.timestamp", "valid integer"),
    ({"timestamp": 1.5}, "events.3.timestamp", "valid integer"),
    ({"timestamp": True}, "events.3.timestamp", "valid integer"),
    ({"timestamp": -1}, "events.3.timestamp", "greater than or equal"),
    ({"timestamp": 10**20}, "events.3.timestamp", "less than or equal"),
    ({"event_id": "not-a-uuid"}, "events.3.event_id", "UUID v7 or v4"),
    ({"event_id": str(uuid.uuid4()).upper()}, "events.3.event_id", "lowercase UUID v7 or v4"),
    ({"event_id": V7.upper()}, "events.3.event_id", "lowercase UUID v7 or v4"),
    ({"event_id": str(uuid.uuid1())}, "events.3.event_id", "UUID v7 or v4"),
    ({"device_id": str(uuid.uuid1())}, "events.3.device_id", "UUID v4"),
    ({"device_id": V7}, "events.3.device_id", "UUID v4"),
    ({"session_id": ""}, "events.3.session_id", "at least 1"),
    ({"data": [1, 2]}, "events.3.data", "valid dictionary"),
    ({"data": {"big": "x" * MAX_DATA_BYTES}}, "events.3.data", "more than 16384"),
    ({"url": "\ud800"}, "events.3.url", "invalid unicode"),
    ({"page_title": "a\x00b"}, "events.3.page_title", "contains a NUL character (U+0000)"),
    ({"customer_id": "\x00"}, "events.3.customer_id", "cannot be stored"),
    ({"event_name": "view\x00"}, "events.3.event_name", "NUL character"),
    ({"data": {"\udfff": 1}}, "events.3.data", "invalid unicode"),
    ({"colour": "red"}, "events.3.colour", "unknown field"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_FIELDS)
def test_bad_field_is_named(overrides: dict[str, Any], field: str, message: str) -> None:
    found_field, found_message = error_of(event(**overrides))
    assert found_field == field
    assert message in found_message


def test_missing_field_is_named() -> None:
    raw = event()
    del raw["event_name"]
    assert error_of(raw) == ("events.3.event_name", "Field required")


def test_data_just_under_the_limit_is_accepted() -> None:
    padding = MAX_DATA_BYTES - len('{"k":""}')
    assert Event.model_validate(event(data={"k": "x" * padding})).data is not None


def test_non_object_event() -> None:
    assert error_of(["not", "an", "object"]) == ("events.3", "must be a JSON object")


def test_batch_envelope() -> None:
    assert EventBatch.model_validate({"events": []}).csrf_token is None
    for raw, field in [({}, "events"), ({"events": {}}, "events"), ({"events": [], "x": 1}, "x")]:
        with pytest.raises(ValidationError) as caught:
            EventBatch.model_validate(raw)
        assert first_error(caught.value)[0] == field
    with pytest.raises(ValidationError) as caught:
        EventBatch.model_validate([])
    assert first_error(caught.value) == (None, "must be a JSON object")


def fast(raw: Any) -> FastEvent | None:
    # ensure_ascii: a lone surrogate travels as a \\ud800 escape, as browsers send it.
    return fast_event(json.dumps(raw).encode())


EDGE_CASES: list[dict[str, Any]] = [
    {"timestamp": 1.0},
    {"timestamp": 0},
    {"timestamp": MAX_TIMESTAMP_MS},
    {"timestamp": MAX_TIMESTAMP_MS + 1},
    {"timestamp": None},
    {"event_name": None},
    {"event_id": str(uuid.uuid4()) + "\n"},
    {"event_id": V7},
    {"device_id": " " + str(uuid.uuid4())},
    {"session_id": "x" * 128},
    {"session_id": "x" * 129},
    {"customer_id": "c" * 2048},
    {"url_in_click": None},
    {"data": None},
    {"data": {}},
    {"data": {"deep": [{"a": [1, 2.5, None, True]}], "caf\u00e9": "\u00e9" * 100}},
    {"data": {"k": "\u00e9" * (MAX_DATA_BYTES // 2 - 4)}},  # two bytes each: just fits
    {"data": {"k": "\u00e9" * (MAX_DATA_BYTES // 2)}},  # too large in bytes, not in chars
    {"data": {"n": 10**30}},
    {"data": "text"},
]


@pytest.mark.parametrize(
    "overrides", [case[0] for case in BAD_FIELDS] + EDGE_CASES, ids=lambda case: str(case)[:40]
)
def test_the_fast_path_accepts_only_what_the_models_accept(overrides: dict[str, Any]) -> None:
    raw = event(**overrides)
    try:
        expected: Event | None = Event.model_validate(raw)
    except ValidationError:
        expected = None
    found = fast(raw)
    if expected is None:
        assert found is None, "the fast path took an event the models refuse"
    else:
        assert found is not None, "the fast path refused a valid event"
        assert {name: getattr(found, name) for name in Event.model_fields} == expected.model_dump()


@pytest.mark.parametrize(
    "overrides", [case[0] for case in BAD_FIELDS] + EDGE_CASES, ids=lambda case: str(case)[:40]
)
def test_a_whole_batch_is_taken_only_when_the_models_take_every_event(
    overrides: dict[str, Any],
) -> None:
    device = str(uuid.uuid4())
    neighbours = [event(device_id=device), event(device_id=device, event_id=V7[:-1] + "0")]
    raw = event(**{"device_id": device, **overrides})
    try:
        Event.model_validate(raw)
        valid = True
    except ValidationError:
        valid = False
    batch = fast_batch(json.dumps({"events": [*neighbours, raw]}).encode())
    assert (batch is not None) is valid
    if batch is not None:
        assert [found.event_id for found in batch.events] == [
            *(neighbour["event_id"] for neighbour in neighbours),
            raw["event_id"],
        ]


def test_the_fast_path_refuses_what_is_not_an_event() -> None:
    for raw in [["not", "an", "object"], "text", None, 5]:
        assert fast(raw) is None
    assert fast_envelope(b'{"events": [], "csrf_token": "t"}') is not None
    for body in [b"{}", b'{"events": {}}', b'{"events": [], "x": 1}', b"[]", b"{", b"\xff"]:
        assert fast_envelope(body) is None
    assert fast_envelope(b'{"events": [' + b"{}," * 1000 + b"{}]}") is None  # more than 1000


def test_session_request() -> None:
    device = str(uuid.uuid4())
    assert SessionRequest.model_validate({"device_id": device}).session_id is None
    with pytest.raises(ValidationError) as caught:
        SessionRequest.model_validate({"device_id": "nope"})
    assert first_error(caught.value) == ("device_id", "must be a lowercase UUID v4")


def test_a_nul_inside_data_is_kept_and_sent_to_the_models() -> None:
    """`data` is stored as JSON text, where a NUL stays the escape `\\u0000`: kept. The fast
    path leaves any body carrying that escape to the models, which decide field by field."""
    raw = event(data={"note": "a\x00b"})
    assert Event.model_validate(raw).data == {"note": "a\x00b"}
    assert fast(raw) is None
    assert fast_batch(json.dumps({"events": [raw]}).encode()) is None
