"""A small JSON encoder.

The SDK cannot import the stdlib's `json` in the browser: under Brython it costs most of a second
(docs/build.md). The wire format needs only these types, so this encoder is all the SDK uses; its
output is checked against the stdlib's `json` in tests/core/test_json_encoding.py.
"""

from __future__ import annotations

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def encode_string(text: str) -> str:
    if text.isprintable():
        # The common case, with no control or surrogate characters: two native replaces instead
        # of a Python loop over every character (which costs milliseconds in the browser).
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    parts = ['"']
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            parts.append(escaped)
        elif ord(char) < 0x20 or 0xD800 <= ord(char) <= 0xDFFF:
            parts.append("\\u" + ("0000" + hex(ord(char))[2:])[-4:])
        else:
            parts.append(char)
    parts.append('"')
    return "".join(parts)


def encode(value: object) -> str:
    """Serialise None, bool, int, finite float, str, list/tuple and dict with str keys."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and Infinity cannot be sent as JSON")
        return repr(value)
    if isinstance(value, (list, tuple)):
        # A list, not a generator: under Brython every generator ends by raising StopIteration.
        return "[" + ",".join([encode(item) for item in value]) + "]"
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"JSON object keys must be strings, got {key!r}")
            items.append(encode_string(key) + ":" + encode(item))
        return "{" + ",".join(items) + "}"
    raise ValueError(f"{type(value).__name__} values cannot be sent as JSON")
