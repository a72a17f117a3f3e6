"""localStorage as the core's KeyValueStore (values stored as JSON)."""

from __future__ import annotations

import javascript
from browser import window


class LocalStorage:
    """Every call may raise (storage disabled, sandboxed, quota exceeded): callers handle it."""

    def stored_keys(self) -> list[str]:
        storage = window.localStorage
        return [str(storage.key(index)) for index in range(int(storage.length))]

    def load(self, key: str) -> object:
        text = window.localStorage.getItem(key)
        return None if text is None else javascript.JSON.parse(str(text))

    def save(self, key: str, value: object) -> None:
        # The browser's own JSON: the outbox holds lists of strings and numbers, which cross to
        # JS as they are, and native stringify is far faster than Python code in the page.
        window.localStorage.setItem(key, window.JSON.stringify(javascript.pyobj2jsobj(value)))

    def remove(self, key: str) -> None:
        window.localStorage.removeItem(key)
