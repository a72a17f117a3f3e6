"""The promises of tracked events, each settled at most once.

A promise resolves when the collector has stored its event, and rejects when the collector
refused the event for good or the outbox dropped it to keep a bound the site set. Network trouble
never rejects it: the event stays in the outbox and is sent again, by this page or a later one,
and its promise stays pending, so a page that does not catch raises no unhandled rejection. A site
that wants to hear of slow delivery sets data-timeout-seconds: a promise still pending then
rejects, saying the event is kept (docs/delivery.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DeliveryError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .errors import TrackingError
    from .ports import Schedule

    Resolve = Callable[[str], None]  # called with the stored event's event_id
    Reject = Callable[[TrackingError], None]


class Promises:
    def __init__(self, schedule: Schedule, timeout_ms: int = 0) -> None:
        self._schedule = schedule
        self._timeout_ms = timeout_ms  # 0: no timeout (the default)
        self._pending: dict[str, tuple[Resolve, Reject]] = {}

    def watch(self, event_id: str, resolve: Resolve, reject: Reject) -> None:
        self._pending[event_id] = (resolve, reject)
        if self._timeout_ms:
            self._schedule(self._timeout_ms, lambda: self._time_out(event_id))

    def resolve(self, event_id: str) -> None:
        settle = self._pending.pop(event_id, None)
        if settle is not None:
            settle[0](event_id)

    def reject(
        self, event_id: str, message: str, kind: type[TrackingError] = DeliveryError
    ) -> None:
        """Reject with `kind(message, event_id)`; NotStored resolves the promise, not stored."""
        settle = self._pending.pop(event_id, None)
        if settle is not None:
            settle[1](kind(message, event_id))

    def dropped(self, event_ids: list[str]) -> None:
        """Events the outbox let go: their promises must not say they will be sent (one may be
        in the request in flight, and still be stored)."""
        for event_id in event_ids:
            self.reject(
                event_id,
                f"event {event_id} was dropped from the outbox (full, or the event too old) "
                "before the collector acknowledged it; it may not be delivered "
                "(data-outbox-max-events, -kb, -days)",
            )

    def _time_out(self, event_id: str) -> None:
        self.reject(
            event_id,
            f"event {event_id} was not acknowledged within {self._timeout_ms // 1000} s; "
            "it is kept and will be sent again",
        )
