"""The effects the core needs, as plain callables and small classes the browser layer provides.

Under CPython the tests pass fakes; in the browser, allegro_sdk.browser provides the real ones.
Kept free of `typing` at run time: Brython would fetch and compile it (docs/build.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    # (status, parsed JSON body or None) on an HTTP answer; (message) when no answer came.
    OnResponse = Callable[[int, "dict[str, object] | None"], None]
    OnFailure = Callable[[str], None]
    PostJson = Callable[[str, str, "dict[str, str]", OnResponse, OnFailure], None]
    Clock = Callable[[], int]
    NewId = Callable[[], str]


class Cookies:
    """Read and write first-party cookies (document.cookie in the browser)."""

    def get(self, name: str) -> str | None:
        raise NotImplementedError

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        raise NotImplementedError


class Console:
    """Where the SDK tells the site developer what went wrong (console.* in the browser)."""

    def error(self, message: str) -> None:
        raise NotImplementedError

    def warn(self, message: str) -> None:
        raise NotImplementedError
