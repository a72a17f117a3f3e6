"""UUID v4 text from 16 random bytes, its validation, and the event ids' UUID v7 (no stdlib
`uuid`: see docs/build.md)."""

from __future__ import annotations

_HEX = "0123456789abcdef"


def uuid4_from_bytes(random_bytes: list[int]) -> str:
    """Format 16 random bytes as a version-4, variant-1 UUID (RFC 9562, section 5.4)."""
    if len(random_bytes) != 16:
        raise ValueError("a UUID needs 16 random bytes")
    octets = list(random_bytes)
    octets[6] = (octets[6] & 0x0F) | 0x40
    octets[8] = (octets[8] & 0x3F) | 0x80
    # A list, not a generator: under Brython every generator ends by raising StopIteration.
    text = "".join([_HEX[b >> 4] + _HEX[b & 0x0F] for b in octets])
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def uuid7_from(uuid4: str, unix_ms: int) -> str:
    """A UUID v7 (RFC 9562, section 5.7): `unix_ms` in its first 48 bits, then the random bits
    and the variant of `uuid4`.

    Event ids begin with their time, so the collector's index of them grows at one end: a
    random id lands on an index page of its own, which makes storing it about two and a half
    times as costly (docs/scaling.md).
    """
    stamp = "".join([_HEX[(unix_ms >> shift) & 0x0F] for shift in range(44, -4, -4)])
    return f"{stamp[:8]}-{stamp[8:]}-7{uuid4[15:]}"


def is_uuid4(text: object) -> bool:
    if not isinstance(text, str) or len(text) != 36:
        return False
    for index, char in enumerate(text):
        if index in (8, 13, 18, 23):
            if char != "-":
                return False
        elif char not in _HEX:
            return False
    return text[14] == "4" and text[19] in "89ab"
