"""What an event is: the spec's fields, how explicit values and page values combine, and limits."""

from __future__ import annotations

from .errors import InvalidCallError
from .json_encoding import encode
from .protocol import MAX_DATA_BYTES, MAX_NAME_CHARS, MAX_TEXT_CHARS

# The spec's "Available fields" that are strings (`data` is the custom-data object).
STRING_FIELDS = (
    "url",
    "canonical_url",
    "referer",
    "page_title",
    "content_type",
    "content_id",
    "publisher",
    "object_type",
    "object_id",
    "context",
    "conversion_pv_id",
    "url_in_click",
)


def check_event_name(name: object) -> str:
    if name is None:
        raise InvalidCallError("track() needs an event name, e.g. allegro.track('page_view')")
    if not isinstance(name, str):
        raise InvalidCallError(f"track(): the event name must be a string, got {describe(name)}")
    name = name.strip()
    if not name:
        raise InvalidCallError("track(): the event name must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidCallError(
            f"track(): the event name is {len(name)} characters long; the limit is {MAX_NAME_CHARS}"
        )
    return name


def check_fields(data: object) -> dict[str, object]:
    """Validate track()'s second argument: the spec's fields plus `data` for custom values."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidCallError(
            f"track(): the second argument must be a plain object of fields, got {describe(data)}"
        )
    fields: dict[str, object] = {}
    for key, value in data.items():
        if value is None:
            continue
        if key == "data":
            fields["data"] = check_custom_data(value)
        elif key in STRING_FIELDS:
            if not isinstance(value, str):
                raise InvalidCallError(f"track(): '{key}' must be a string, got {describe(value)}")
            if "\x00" in value:
                raise InvalidCallError(
                    f"track(): '{key}' contains a NUL character (U+0000), which cannot be stored"
                )
            fields[key] = value.strip()[:MAX_TEXT_CHARS]
        else:
            raise InvalidCallError(
                f"track(): unknown field '{key}'; the fields are {', '.join(STRING_FIELDS)} and "
                "data, and custom values go inside data: { ... }"
            )
    return fields


def check_custom_data(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidCallError(f"track(): 'data' must be a plain object, got {describe(value)}")
    try:
        size = utf8_length(encode(value))
    except ValueError as error:
        raise InvalidCallError(f"track(): 'data' cannot be sent: {error}") from None
    if size > MAX_DATA_BYTES:
        raise InvalidCallError(
            f"track(): 'data' is {size} bytes as JSON; the limit is {MAX_DATA_BYTES}"
        )
    return value


def utf8_length(text: str) -> int:
    """Bytes of `text` in UTF-8, counted without str.encode (the runtime ships no codecs)."""
    size = 0
    for char in text:
        code = ord(char)
        size += 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return size


def merge_fields(page: dict[str, str], explicit: dict[str, object]) -> dict[str, object]:
    """Page values first, then the caller's: explicit values win, field by field."""
    merged: dict[str, object] = {key: None for key in STRING_FIELDS}
    merged["data"] = None
    for key, value in page.items():
        if key in merged and value:
            merged[key] = value[:MAX_TEXT_CHARS]
    merged.update(explicit)
    return merged


def describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    # A JS function, Date, Map... (allegro_sdk.browser.js.ForeignValue) names its own kind.
    return str(getattr(value, "description", "a " + type(value).__name__))
