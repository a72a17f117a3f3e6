"""The API's stand-in when the SDK cannot send (no usable data-collector on its script tag).

Pages keep working: pushed functions run, track() and member.login() reject with the reason
(which says what to add to the tag), member.logout() resolves, and nothing is sent anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import TrackingError

if TYPE_CHECKING:
    from collections.abc import Callable


class Unconfigured:
    """Stands in for both the Tracker and Members."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def track(
        self,
        name: object,
        data: object,
        resolve: Callable[[str], None],
        reject: Callable[[TrackingError], None],
    ) -> None:
        reject(TrackingError(self._reason))

    def login(
        self,
        credentials: object,
        resolve: Callable[[str], None],
        reject: Callable[[TrackingError], None],
    ) -> None:
        reject(TrackingError(self._reason))

    def logout(self, done: Callable[[], None]) -> None:
        done()

    def current(self) -> str | None:
        return None

    def forget(self) -> None:
        pass  # nothing was kept
