"""Cookies kept in memory, for pages where the browser refuses to store them."""

from __future__ import annotations


class MemoryCookies:
    """The device and session last as long as the page: tracking goes on, without continuity."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        if max_age_seconds > 0:
            self._values[name] = value
        else:
            self._values.pop(name, None)
