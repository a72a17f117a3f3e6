"""localStorage as the core's KeyValueStore (values stored as JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import javascript
from browser import window

if TYPE_CHECKING:
    from collections.abc import Callable


class LocalStorage:
    """Every call may raise (storage disabled, sandboxed, quota exceeded): callers handle it.
    Saves only while `allowed()` (the visitor's consent); reads and removals always pass."""

    def __init__(self, allowed: Callable[[], bool]) -> None:
        self._allowed = allowed

    def stored_keys(self) -> list[str]:
        storage = window.localStorage
        return [str(storage.key(index)) for index in range(int(storage.length))]

    def load(self, key: str) -> object:
        text = window.localStorage.getItem(key)
        return None if text is None else javascript.JSON.parse(str(text))

    def save(self, key: str, value: object) -> None:
        if not self._allowed():
            return
        # The browser's own JSON: the outbox holds lists of strings and numbers, which cross to
        # JS as they are, and native stringify is far faster than Python code in the page.
        window.localStorage.setItem(key, window.JSON.stringify(javascript.pyobj2jsobj(value)))

    def remove(self, key: str) -> None:
        window.localStorage.removeItem(key)
