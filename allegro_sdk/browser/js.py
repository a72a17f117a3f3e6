"""Crossing between Python and JavaScript values (Brython's conversions, made predictable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import javascript
from browser import window

from allegro_sdk.core.errors import InvalidCallError
from allegro_sdk.core.json_encoding import encode

if TYPE_CHECKING:
    from browser import JSObject


class ForeignValue:
    """A JS value with no Python equivalent for the SDK (a function, a Date, a Map...)."""

    def __init__(self, kind: str) -> None:
        self.description = "a JavaScript " + kind


def js_kind(value: object) -> str:
    """'Object', 'Array', 'Function', 'Date'... as Object.prototype.toString says."""
    return str(window.Object.prototype.toString.call(value))[8:-1]


def to_python(value: object) -> object:
    """A JS argument as plain Python: None, bool, number, str, list or dict; else ForeignValue."""
    if value is None or value is javascript.NULL or value is javascript.UNDEFINED:
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    kind = js_kind(value)
    if kind not in ("Object", "Array"):
        return ForeignValue(kind)
    try:
        return javascript.JSON.parse(window.JSON.stringify(value))
    except Exception as error:
        raise InvalidCallError(f"the value cannot be sent as JSON: {error}") from None


def to_js(value: object) -> object:
    """A plain Python value as a plain JS value (via JSON: one conversion, nulls kept)."""
    return window.JSON.parse(encode(value))


def js_error(message: str) -> object:
    return window.Error.new(message)


def parse_json_object(text: str) -> dict[str, object] | None:
    try:
        parsed = javascript.JSON.parse(text)
    except Exception:
        return None
    return parsed if isinstance(parsed, dict) else None


def closest(element: JSObject, selector: str) -> JSObject | None:
    """element.closest(selector), None when no ancestor matches.

    Brython wraps DOM elements: its closest() raises KeyError where the DOM's returns null, and
    a wrapped element cannot be handed to a JS function such as Reflect.apply.
    """
    try:
        found: JSObject = element.closest(selector)
        return found
    except KeyError:
        return None


def is_missing(value: object) -> bool:
    """None, or JS null/undefined (an attribute read gives javascript.NULL, not None)."""
    return value is None or value is javascript.NULL or value is javascript.UNDEFINED
