"""First-party cookies through document.cookie, with a fallback where they cannot be stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import window

from allegro_sdk.core.cookie_text import cookie_assignment, domain_matches, read_cookie
from allegro_sdk.core.memory_cookies import MemoryCookies

if TYPE_CHECKING:
    from allegro_sdk.core.ports import Console, Cookies

PROBE_COOKIE = "allegro_cookie_probe"


class DocumentCookies:
    def __init__(self, domain: str | None) -> None:
        self._secure = window.location.protocol == "https:"
        self._domain = domain

    def get(self, name: str) -> str | None:
        return read_cookie(str(window.document.cookie), name)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        window.document.cookie = cookie_assignment(
            name, value, max_age_seconds, self._secure, self._domain
        )

    def works(self) -> bool:
        """Write, read back and delete a probe cookie: false where cookies are blocked."""
        try:
            self.set(PROBE_COOKIE, "1", 10)
            stored = self.get(PROBE_COOKIE) == "1"
            self.set(PROBE_COOKIE, "", 0)
        except Exception:
            return False
        return stored


def open_cookie_jar(console: Console, domain_setting: str | None) -> Cookies:
    """The page's cookies (for `domain_setting` when it fits the page), else memory."""
    host = str(window.location.hostname)
    domain = None
    if domain_setting:
        if domain_matches(host, domain_setting):
            domain = domain_setting
        else:
            console.error(
                f'data-cookie-domain="{domain_setting}" does not match this page\'s host '
                f'"{host}": the cookies are set for "{host}" only'
            )
    cookies = DocumentCookies(domain)
    if cookies.works():
        return cookies
    if domain:
        # Syntactically fine but refused by the browser (a public suffix such as ".com").
        console.error(f'the browser refused cookies for data-cookie-domain="{domain}"')
        cookies = DocumentCookies(None)
        if cookies.works():
            return cookies
    console.warn(
        "cookies cannot be stored on this page: the device and session ids last only as long "
        "as the page"
    )
    return MemoryCookies()
