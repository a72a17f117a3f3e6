"""First-party cookies through document.cookie, with a fallback where they cannot be stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import window

from allegro_sdk.core.cookie_text import cookie_assignment, domain_matches, read_cookie
from allegro_sdk.core.memory_cookies import MemoryCookies
from allegro_sdk.core.protocol import CONSENT_COOKIE, DEVICE_COOKIE

if TYPE_CHECKING:
    from collections.abc import Callable

    from allegro_sdk.core.ports import Console, Cookies

PROBE_COOKIE = "allegro_cookie_probe"


class CookieText:
    """`document.cookie`'s text, read at most once per task.

    Reading `document.cookie` asks the browser's cookie store (in Chromium, a synchronous call to
    another process), and building one event reads several of the SDK's cookies. The text read
    first in a task serves the rest of that task: it is forgotten at the task's end (a microtask)
    and at every write through the SDK, so a change made by another tab or by the page in an
    earlier task is always seen."""

    def __init__(self) -> None:
        self._text: str | None = None

    def read(self) -> str:
        text = self._text
        if text is None:
            text = self._text = str(window.document.cookie)
            window.queueMicrotask(self.forget)
        return text

    def write(self, assignment: str) -> None:
        self._text = None
        window.document.cookie = assignment

    def forget(self) -> None:
        self._text = None


PAGE_COOKIES = CookieText()


class DocumentCookies:
    def __init__(self, domain: str | None) -> None:
        self._secure = window.location.protocol == "https:"
        self._domain = domain

    def get(self, name: str) -> str | None:
        return read_cookie(PAGE_COOKIES.read(), name)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        PAGE_COOKIES.write(
            cookie_assignment(name, value, max_age_seconds, self._secure, self._domain)
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
    if not domain_setting and cookies.get(DEVICE_COOKIE):
        # Stored by an earlier page of this site: cookies work here, no probe needed.
        return cookies
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


class CookieJar:
    """The SDK's cookies. Opened (probed, see `open_cookie_jar`) at the first write rather than at
    start, and writing only while `allowed()` (the visitor's consent): a page without consent
    writes no cookie but the consent cookie itself. Deletions always pass."""

    def __init__(
        self, console: Console, domain_setting: str | None, allowed: Callable[[], bool]
    ) -> None:
        self._console = console
        self._domain_setting = domain_setting
        self._allowed = allowed
        self._jar: Cookies | None = None

    def get(self, name: str) -> str | None:
        jar = self._jar
        if jar is not None:
            return jar.get(name)
        try:
            return read_cookie(PAGE_COOKIES.read(), name)
        except Exception:
            return None  # an opaque origin (a sandboxed frame) has no cookies

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        if max_age_seconds > 0 and name != CONSENT_COOKIE and not self._allowed():
            return
        if self._jar is None:
            self._jar = open_cookie_jar(self._console, self._domain_setting)
        self._jar.set(name, value, max_age_seconds)
