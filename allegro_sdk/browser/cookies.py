"""First-party cookies through document.cookie."""

from __future__ import annotations

from browser import window

from allegro_sdk.core.cookie_text import cookie_assignment, read_cookie
from allegro_sdk.core.ports import Cookies


class DocumentCookies(Cookies):
    def __init__(self) -> None:
        self._secure = window.location.protocol == "https:"

    def get(self, name: str) -> str | None:
        return read_cookie(str(window.document.cookie), name)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        window.document.cookie = cookie_assignment(name, value, max_age_seconds, self._secure)
