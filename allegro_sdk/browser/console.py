"""The browser console, with every message prefixed so site developers know who is speaking."""

from __future__ import annotations

from browser import window

PREFIX = "allegro: "


class BrowserConsole:
    def error(self, message: str) -> None:
        window.console.error(PREFIX + message)

    def warn(self, message: str) -> None:
        window.console.warn(PREFIX + message)

    def debug(self, message: str) -> None:
        """Debug mode's log (console.log: Chromium hides console.debug by default)."""
        window.console.log(PREFIX + message)
