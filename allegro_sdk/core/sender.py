"""Sends tracked events to the collector in batches, and settles each event's promise.

track() only queues: the events queued in one task go out together in a later task (`defer`), so
the host page's own code (the queue of pushed functions, a click handler) is never held up by
session creation or the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DeliveryError, TrackingError
from .json_encoding import encode

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import PostJson
    from .session import Session, SessionManager

    Resolve = Callable[[str], None]  # called with the acknowledged event_id
    Reject = Callable[[TrackingError], None]
    Pending = tuple[dict[str, object], Resolve, Reject]

CSRF_HEADER = "X-Allegro-CSRF"
MAX_BATCH = 100


class Sender:
    def __init__(
        self,
        collector_url: str,
        sessions: SessionManager,
        post_json: PostJson,
        defer: Callable[[Callable[[], None]], None],
    ) -> None:
        self._events_url = collector_url.rstrip("/") + "/v1/events"
        self._sessions = sessions
        self._post_json = post_json
        self._defer = defer
        self._pending: list[Pending] = []

    def send(self, event: dict[str, object], resolve: Resolve, reject: Reject) -> None:
        """Queue one event; exactly one of `resolve(event_id)` or `reject(error)` follows."""
        self._pending.append((event, resolve, reject))
        if len(self._pending) == 1:
            self._defer(self.flush)

    def flush(self) -> None:
        """Send everything queued, in batches of at most MAX_BATCH events."""
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), MAX_BATCH):
            self._deliver(pending[start : start + MAX_BATCH], renewed=False)

    def _deliver(self, batch: list[Pending], renewed: bool) -> None:
        def fail(message: str) -> None:
            settle_all(batch, lambda _event: message)

        self._sessions.with_session(lambda session: self._post(batch, session, renewed), fail)

    def _post(self, batch: list[Pending], session: Session, renewed: bool) -> None:
        for event, _resolve, _reject in batch:
            event["session_id"] = session.session_id
            event["device_id"] = session.device_id

        def answered(status: int, body: dict[str, object] | None) -> None:
            if status == 403 and not renewed:
                # The CSRF token was refused (expired, or the collector's key rotated): renew
                # the session's token once and send again; a second refusal is final.
                self._sessions.forget()
                self._deliver(batch, renewed=True)
                return
            settle_all(batch, lambda event: acknowledgement(str(event["event_id"]), status, body))

        def failed(message: str) -> None:
            settle_all(batch, lambda _event: f"could not reach the collector: {message}")

        body = encode({"events": [event for event, _resolve, _reject in batch]})
        headers = {CSRF_HEADER: session.csrf_token}
        self._post_json(self._events_url, body, headers, answered, failed)


def settle_all(batch: list[Pending], outcome: Callable[[dict[str, object]], str | None]) -> None:
    """Resolve each event whose outcome is None; reject the others with their message."""
    for event, resolve, reject in batch:
        problem = outcome(event)
        if problem is None:
            resolve(str(event["event_id"]))
        else:
            reject(DeliveryError(problem))


def acknowledgement(event_id: str, status: int, body: dict[str, object] | None) -> str | None:
    """None when the collector acknowledged `event_id`; otherwise what it said, for the caller."""
    if body is not None:
        accepted = body.get("accepted")
        if isinstance(accepted, list) and event_id in accepted:
            return None
        rejected = body.get("rejected")
        if isinstance(rejected, list):
            for entry in rejected:
                if isinstance(entry, dict) and entry.get("event_id") == event_id:
                    return "the collector refused the event: " + error_text(entry.get("error"))
        if "error" in body:
            return f"the collector answered HTTP {status}: " + error_text(body.get("error"))
    return f"the collector answered HTTP {status} without acknowledging the event"


def error_text(error: object) -> str:
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        field = error.get("field")
        return f"{message} (field {field})" if field else message
    return str(error)
