"""Web Locks as the core's Locks: a lock is held until its promise, made here, is resolved.

Where navigator.locks is missing, leases in localStorage stand in (allegro_sdk/core/lease.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import window

from allegro_sdk.browser.js import is_missing, to_js

if TYPE_CHECKING:
    from collections.abc import Callable


class WebLocks:
    def __init__(self) -> None:
        self._releases: dict[str, object] = {}  # name -> the resolve() of the held lock's promise

    def hold(self, name: str, held: Callable[[], None]) -> None:
        self._request(name, False, lambda taken: held())

    def take_if_free(self, name: str, answer: Callable[[bool], None]) -> None:
        self._request(name, True, answer)

    def release(self, name: str) -> None:
        resolve = self._releases.pop(name, None)
        if resolve is not None:
            resolve()  # type: ignore[operator]

    def _request(self, name: str, if_available: bool, answer: Callable[[bool], None]) -> None:
        def granted(lock: object) -> object:
            if is_missing(lock):
                answer(False)  # ifAvailable, and another tab holds it
                return None
            promise = window.Promise.new(
                lambda resolve, reject: self._releases.__setitem__(name, resolve)
            )
            answer(True)
            return promise

        window.navigator.locks.request(name, to_js({"ifAvailable": if_available}), granted)
