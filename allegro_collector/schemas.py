"""Request models (pydantic v2, strict: JSON types are taken as they are, never coerced)."""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

import msgspec
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from allegro_sdk.core.protocol import (
    MAX_BATCH_EVENTS,
    MAX_DATA_BYTES,
    MAX_DATA_DEPTH,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
)

MAX_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z; keeps SQLite integers safe

_UUID_V4_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
_UUID_V4 = re.compile(_UUID_V4_PATTERN)
# An event id: a UUID v7 as the SDK makes them (its time first), or a v4 as older SDKs did.
_EVENT_ID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
_EVENT_ID = re.compile(_EVENT_ID_PATTERN)


def _encodable(value: str) -> str:
    """JSON may carry lone surrogates (`"\\ud800"`); they cannot be stored or sent back as UTF-8.
    It may carry NUL (`"\\u0000"`) too, which a PostgreSQL text column cannot hold: refused in
    every store alike, so an event is not accepted by one and refused by the other. (Inside
    `data` it is kept: `data` is stored as JSON text, where it stays the escape.)"""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError("unicode", "contains an invalid unicode character") from None
    if "\x00" in value:
        raise PydanticCustomError(
            "nul", "contains a NUL character (U+0000), which cannot be stored"
        )
    return value


def is_uuid_v4(value: str) -> bool:
    """A device or event id as the protocol spells it: a lowercase UUID v4."""
    return _UUID_V4.fullmatch(value) is not None


def _uuid_v4(value: str) -> str:
    # Lowercase only: the SDK matches acknowledged ids against the ids it sent, byte for byte.
    if not is_uuid_v4(value):
        raise PydanticCustomError("uuid_v4", "must be a lowercase UUID v4")
    return value


Text = Annotated[str, AfterValidator(_encodable)]


def _event_id(value: str) -> str:
    if _EVENT_ID.fullmatch(value) is None:
        raise PydanticCustomError("event_id", "must be a lowercase UUID v7 or v4")
    return value


UuidV4 = Annotated[str, AfterValidator(_uuid_v4)]
EventId = Annotated[str, AfterValidator(_event_id)]
Id = Annotated[Text, Field(min_length=1, max_length=MAX_ID_CHARS)]
LongText = Annotated[Text, Field(max_length=MAX_TEXT_CHARS)]


def data_json(data: dict[str, Any]) -> str:
    """The stored form of `data`, also what its size limit is measured on (always valid JSON:
    non-finite numbers raise ValueError)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def data_problem(data: dict[str, Any]) -> tuple[list[str], str] | None:
    """The first value of `data` that is not storable JSON, as (path inside data, message).

    JSON numbers too large for a double (`1e400`) parse as infinity, which JSON cannot write
    back; nesting beyond MAX_DATA_DEPTH is refused before anything recurses into it. Walked
    with an explicit stack, so any depth the JSON parser accepted is safe to check.
    """
    stack: list[tuple[Any, int, list[str]]] = [(data, 1, [])]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return path, "must be a finite number (JSON has no Infinity or NaN)"
        if isinstance(value, dict | list):
            if depth > MAX_DATA_DEPTH:
                return path, f"is nested more than {MAX_DATA_DEPTH} levels deep"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend(
                (item, depth + 1, [*path, str(key)]) for key, item in reversed(list(items))
            )
    return None


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    event_id: EventId
    event_name: Annotated[Text, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    timestamp: Annotated[int, Field(ge=0, le=MAX_TIMESTAMP_MS)]
    device_id: UuidV4
    session_id: Id
    customer_id: LongText | None = None
    url: LongText | None = None
    canonical_url: LongText | None = None
    referer: LongText | None = None
    page_title: LongText | None = None
    content_type: LongText | None = None
    content_id: LongText | None = None
    publisher: LongText | None = None
    object_type: LongText | None = None
    object_id: LongText | None = None
    context: LongText | None = None
    conversion_pv_id: LongText | None = None
    url_in_click: LongText | None = None
    data: dict[str, Any] | None = None

    @field_validator("data")
    @classmethod
    def _data_fits(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        problem = data_problem(value)
        if problem is not None:
            path, message = problem
            raise PydanticCustomError("data_value", message, {"path": path})
        try:
            size = len(data_json(value).encode())
        except UnicodeEncodeError:
            raise PydanticCustomError("unicode", "contains an invalid unicode character") from None
        if size > MAX_DATA_BYTES:
            raise PydanticCustomError(
                "data_too_large",
                "is {size} bytes as JSON, more than {limit}",
                {"size": size, "limit": MAX_DATA_BYTES},
            )
        return value


class EventBatch(BaseModel):
    """The envelope only; each event is validated on its own afterwards."""

    model_config = ConfigDict(extra="forbid", strict=True)

    csrf_token: str | None = None
    events: Annotated[list[Any], Field(max_length=MAX_BATCH_EVENTS)]


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    device_id: UuidV4
    session_id: Id | None = None
    # The session's last CSRF token: proof that this browser holds the session it renews.
    csrf_token: str | None = None


class MemberLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    device_id: UuidV4
    session_id: Id
    customer_id: Annotated[LongText, Field(min_length=1)]
    token: Annotated[str, Field(min_length=1)]


class MemberLogout(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    device_id: UuidV4
    session_id: Id


def first_error(exc: ValidationError, prefix: str | None = None) -> tuple[str | None, str]:
    """The first problem as (dotted field path, message), e.g. `("events.3.page_title", ...)`."""
    error = exc.errors(include_url=False)[0]
    parts = [str(part) for part in error["loc"]]
    if error["type"] == "data_value":
        parts.extend(error["ctx"]["path"])  # the value inside `data`, e.g. data.prices.3
    if prefix is not None:
        parts.insert(0, prefix)
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "model_type":
        message = "must be a JSON object"
    else:
        message = error["msg"]
    return ".".join(parts) or None, message


# The fast path (msgspec): valid events decoded straight from the body's bytes, in C.
#
# It only ever says yes to what the pydantic models above say yes to: the same fields, types
# (strict: no bool or float for an int), lengths and bounds; lone surrogates and numbers out of
# a double's range (`1e400`) are refused by its JSON decoder itself; `data` must not nest past
# MAX_DATA_DEPTH (`data_problem`, walked only when the text has more brackets than that), and
# its size is checked on the text that is stored (msgspec's compact JSON; near the limit on
# `data_json`, which may spell a float a character longer, so both paths draw the line alike).
# A batch whose events are all valid is decoded in one call (`fast_batch`); otherwise each event
# is decoded on its own (`fast_envelope`, `fast_event`), and whatever that refuses goes to the
# pydantic models, which name the field and say what is wrong, so answers are the same with or
# without it (tests/collector/test_schemas.py checks both agree). An id's form is checked after
# the decode, every id of the batch in one match (`_ids_are_uuids`): msgspec matches a `pattern`
# once per string, which cost two thirds of decoding a batch of 50 events.

_FastUuid = Annotated[str, msgspec.Meta(min_length=36, max_length=36)]  # and `_ids_are_uuids`
_EVENT_IDS = re.compile(rf"(?:{_EVENT_ID_PATTERN})*")
_DEVICE_IDS = re.compile(rf"(?:{_UUID_V4_PATTERN})*")
_FastId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
_FastLong = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]


class FastEvent(msgspec.Struct, forbid_unknown_fields=True, dict=True):
    """`Event`'s twin; `dict=True` lets the checked `data_text` ride along outside the schema."""

    event_id: _FastUuid
    event_name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_CHARS)]
    timestamp: Annotated[int, msgspec.Meta(ge=0, le=MAX_TIMESTAMP_MS)]
    device_id: _FastUuid
    session_id: _FastId
    customer_id: _FastLong | None = None
    url: _FastLong | None = None
    canonical_url: _FastLong | None = None
    referer: _FastLong | None = None
    page_title: _FastLong | None = None
    content_type: _FastLong | None = None
    content_id: _FastLong | None = None
    publisher: _FastLong | None = None
    object_type: _FastLong | None = None
    object_id: _FastLong | None = None
    context: _FastLong | None = None
    conversion_pv_id: _FastLong | None = None
    url_in_click: _FastLong | None = None
    data: dict[str, Any] | None = None


class FastEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=MAX_BATCH_EVENTS)]
    csrf_token: str | None = None


class FastBatch(msgspec.Struct, forbid_unknown_fields=True):
    """A batch whose every event the fast path takes, decoded in one call."""

    events: Annotated[list[FastEvent], msgspec.Meta(max_length=MAX_BATCH_EVENTS)]
    csrf_token: str | None = None


assert tuple(FastEvent.__struct_fields__) == tuple(Event.model_fields), "twins must agree"

ValidEvent = Event | FastEvent
"""A checked event, by either path: the store reads its fields by name."""

_ENVELOPE_DECODER = msgspec.json.Decoder(FastEnvelope)
_EVENT_DECODER = msgspec.json.Decoder(FastEvent)
_BATCH_DECODER = msgspec.json.Decoder(FastBatch)
_DATA_ENCODER = msgspec.json.Encoder()
# Up to this size msgspec's text decides; above it `data_json` does. The two differ only in how
# a number is spelled (`1e16` or `1e+16`, `1e-7` or `1e-07`): a character or two per number,
# never twice the length.
_EXACT_SIZE_FROM = MAX_DATA_BYTES // 2


def fast_envelope(body: bytes) -> FastEnvelope | None:
    """The batch envelope, or None when the pydantic path must look at the body."""
    try:
        return _ENVELOPE_DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


# JSON can carry a NUL only as this escape (a raw control character is not valid JSON): a body
# without it has none, and one with it goes to the models, which refuse a NUL outside `data`.
_NUL_ESCAPE = b"\\u0000"


def fast_batch(body: bytes) -> FastBatch | None:
    """The whole batch when every event in it is valid (the usual case), else None: then the
    events are looked at one by one (`fast_envelope`, `fast_event`, the models)."""
    if _NUL_ESCAPE in body:
        return None
    try:
        batch = _BATCH_DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if not _ids_are_uuids(batch.events):
        return None
    for event in batch.events:
        if not _check_data(event):
            return None
    return batch


def fast_event(raw: bytes) -> FastEvent | None:
    """A valid event, or None when it needs the pydantic path (to be refused with a reason)."""
    if _NUL_ESCAPE in bytes(raw):  # a msgspec.Raw (the envelope's path, seldom taken)
        return None
    try:
        event = _EVENT_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return event if _ids_are_uuids([event]) and _check_data(event) else None


def _ids_are_uuids(events: list[FastEvent]) -> bool:
    """Every event id is a lowercase UUID v7 or v4, every device id a v4. Each is 36
    characters long (the decoder checked), as is every match of the patterns, so one match
    over them all joined says the same as a match of each."""
    if len(events) == 1:
        return (
            _EVENT_ID.fullmatch(events[0].event_id) is not None
            and _UUID_V4.fullmatch(events[0].device_id) is not None
        )
    event_ids = "".join([event.event_id for event in events])
    device_ids = "".join({event.device_id for event in events})  # in a batch, usually one
    return (
        _EVENT_IDS.fullmatch(event_ids) is not None
        and _DEVICE_IDS.fullmatch(device_ids) is not None
    )


def _check_data(event: FastEvent) -> bool:
    """Check the decoded event's `data` and attach its stored text (`data_text`); False when
    the pydantic path must name what is wrong with it."""
    data_text = None
    if event.data is not None:
        encoded = _DATA_ENCODER.encode(event.data)
        # A text with at most MAX_DATA_DEPTH brackets cannot nest deeper than that.
        brackets = encoded.count(b"{") + encoded.count(b"[")
        if brackets > MAX_DATA_DEPTH and data_problem(event.data) is not None:
            return False
        if len(encoded) < _EXACT_SIZE_FROM:
            data_text = encoded.decode()
        else:
            data_text = data_json(event.data)
            if len(data_text) * 4 > MAX_DATA_BYTES and len(data_text.encode()) > MAX_DATA_BYTES:
                return False
    event.data_text = data_text  # type: ignore[attr-defined]  # dict=True: outside the schema
    return True
