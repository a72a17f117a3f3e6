"""The time of the API call being handled.

track() hands its work to a later task (boot_js.deferred_calls), so the tracker runs after the
call; an event's `timestamp` is still when the page called. While a queued call is handled its
time is pinned; otherwise `now()` is the clock's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ports import Clock


class CallTime:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._pinned: int | None = None

    def now(self) -> int:
        return self._clock() if self._pinned is None else self._pinned

    def pin(self, at: int | None) -> None:
        """Handle a call made at `at` (epoch ms) from now on; None: back to the clock."""
        self._pinned = at
