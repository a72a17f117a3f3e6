"""One small value kept in durable storage, and in memory too for when storage fails."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import KeyValueStore


class StoredNote:
    """Storage may be disabled, full or absent (None): the value kept in memory then serves
    this page, and other tabs and the next page go without it."""

    def __init__(self, store: KeyValueStore | None, key: str) -> None:
        self._store = store
        self._key = key
        self._value: object = None

    def load(self) -> object:
        store = self._store
        if store is not None:
            self._value = self._try(lambda: store.load(self._key), self._value)
        return self._value

    def save(self, value: object) -> None:
        self._value = value
        store = self._store
        if store is not None:
            self._try(lambda: store.save(self._key, value), None)

    def remove(self) -> None:
        self._value = None
        store = self._store
        if store is not None:
            self._try(lambda: store.remove(self._key), None)

    def _try(self, action: Callable[[], object], fallback: object) -> object:
        try:
            return action()
        except Exception:
            return fallback
