"""Random ids from the browser's CSPRNG."""

from __future__ import annotations

from browser import window

from allegro_sdk.core.ids import uuid4_from_bytes


def new_uuid4() -> str:
    # randomUUID exists only in secure contexts (https, localhost); getRandomValues everywhere.
    if getattr(window.crypto, "randomUUID", None):
        return str(window.crypto.randomUUID())
    random_bytes = window.crypto.getRandomValues(window.Uint8Array.new(16))
    return uuid4_from_bytes([int(b) for b in random_bytes])
