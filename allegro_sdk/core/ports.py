"""The effects the core needs, as plain callables and small protocols the browser layer provides.

Under CPython the tests pass fakes; in the browser, allegro_sdk.browser provides the real ones.
Everything here exists for type checkers only: at run time the module is empty, so it costs the
bundle nothing, and `typing` is never imported in the browser (docs/build.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    # (status, parsed JSON body or None, Retry-After in seconds or None) on an HTTP answer;
    # (message) when no answer came.
    OnResponse = Callable[[int, "dict[str, object] | None", "float | None"], None]
    OnFailure = Callable[[str], None]
    # (url, body, headers, on_response, on_failure, leaving): `leaving` when the page is being
    # hidden or left, so the request must outlive it (keepalive, else a beacon).
    PostJson = Callable[[str, str, "dict[str, str]", OnResponse, OnFailure, bool], None]
    Clock = Callable[[], int]
    NewId = Callable[[], str]
    # Run a function after a delay in milliseconds (setTimeout in the browser).
    Schedule = Callable[[int, Callable[[], None]], None]

    class Cookies(Protocol):
        """Read and write first-party cookies (document.cookie in the browser)."""

        def get(self, name: str) -> str | None: ...

        def set(self, name: str, value: str, max_age_seconds: int) -> None: ...

    class Console(Protocol):
        """Where the SDK tells the site developer what went wrong (console.* in the browser)."""

        def error(self, message: str) -> None: ...

        def warn(self, message: str) -> None: ...

    class KeyValueStore(Protocol):
        """Durable storage of JSON-like values by key (localStorage in the browser).

        Any method may raise (storage disabled, quota exceeded): callers carry on without it.
        """

        def stored_keys(self) -> list[str]: ...

        def load(self, key: str) -> object: ...

        def save(self, key: str, value: object) -> None: ...

        def remove(self, key: str) -> None: ...

    class Locks(Protocol):
        """Exclusive locks shared by a site's tabs (Web Locks; else leases in storage)."""

        def hold(self, name: str, held: Callable[[], None]) -> None:
            """Take `name`, which no other live tab asks for, until release(); then call `held`."""

        def take_if_free(self, name: str, answer: Callable[[bool], None]) -> None:
            """Take `name` unless a live tab holds it: answer(True) once held, else False."""

        def release(self, name: str) -> None: ...
