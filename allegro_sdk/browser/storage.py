"""localStorage as the core's KeyValueStore (values stored as JSON)."""

from __future__ import annotations

import javascript
from browser import window

from allegro_sdk.core.json_encoding import encode


class LocalStorage:
    """Every call may raise (storage disabled, sandboxed, quota exceeded): callers handle it."""

    def stored_keys(self) -> list[str]:
        storage = window.localStorage
        return [str(storage.key(index)) for index in range(int(storage.length))]

    def load(self, key: str) -> object:
        text = window.localStorage.getItem(key)
        return None if text is None else javascript.JSON.parse(str(text))

    def save(self, key: str, value: object) -> None:
        window.localStorage.setItem(key, encode(value))

    def remove(self, key: str) -> None:
        window.localStorage.removeItem(key)
