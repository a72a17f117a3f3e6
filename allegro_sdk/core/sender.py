"""Sends tracked events to the collector from the outbox, and settles each event's promise.

track() only queues: the events queued in one task go out together in a later task (`defer`), so
the host page's own code is never held up by session creation or the network. One request is in
flight at a time. An event leaves the outbox when the collector acknowledges it, or refuses it
for good (a 4xx other than 403, 408 and 429). A 2xx settles only the events its body names
(`accepted`, `rejected`): the others (a proxy's answer, an unreadable body) are kept and sent again
after the backoff. Network errors, 5xx, 408 and 429 are retried with exponential backoff and
jitter, honouring Retry-After. A promise that is not settled within `timeout_ms` rejects, saying
the event is kept and will be sent again (docs/delivery.md).

A tab sends only while it holds its outbox's lock (Outbox.claim), so no two live tabs send the
same entry. When the page is hidden or left, what is waiting goes out at once, in one body that
fits the browser's 64 KB keepalive budget and carries its CSRF token, in case it must go as a
beacon (which cannot set headers); its answer, if one comes, only settles what it acknowledges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DeliveryError, TrackingError
from .event import utf8_length
from .json_encoding import encode
from .protocol import BATCH_EVENTS, CSRF_HEADER, EVENTS_PATH, events_batch

if TYPE_CHECKING:
    from collections.abc import Callable

    from .outbox import Entry, Outbox
    from .ports import PostJson, Schedule
    from .session import Session, SessionManager

    Resolve = Callable[[str], None]  # called with the acknowledged event_id
    Reject = Callable[[TrackingError], None]

TIMEOUT_MS = 10_000
FIRST_RETRY_MS = 1_000
MAX_RETRY_MS = 60_000
RETRYABLE_STATUSES = (408, 429)
# Chrome's budget for all of a page's keepalive requests and beacons together is 64 KiB.
LEAVING_MAX_BODY = 60 * 1024
REFUSED = "the collector refused the event: "  # an event named in `rejected`


class Sender:
    def __init__(
        self,
        collector_url: str,
        sessions: SessionManager,
        post_json: PostJson,
        defer: Callable[[Callable[[], None]], None],
        outbox: Outbox,
        schedule: Schedule,
        random: Callable[[], float],
        timeout_ms: int = TIMEOUT_MS,
    ) -> None:
        self._events_url = collector_url.rstrip("/") + EVENTS_PATH
        self._sessions = sessions
        self._post_json = post_json
        self._defer = defer
        self._outbox = outbox
        self._schedule = schedule
        self._random = random
        self._timeout_ms = timeout_ms
        self._waiting: dict[str, tuple[Resolve, Reject]] = {}
        self._fresh: list[dict[str, object]] = []
        self._flush_planned = False
        self._in_flight = False
        self._retry_planned = False
        self._failures = 0
        self._left = False
        outbox.on_drop = self._dropped
        outbox.adopt(self._plan_flush)  # what earlier pages and closed tabs left unsent

    def send(self, event: dict[str, object], resolve: Resolve, reject: Reject) -> None:
        """Queue one event; exactly one of `resolve(event_id)` or `reject(error)` follows."""
        event_id = str(event["event_id"])
        self._waiting[event_id] = (resolve, reject)
        # Encoded and stored at the flush, in the next task: the caller's task stays short.
        self._fresh.append(event)
        self._schedule(self._timeout_ms, lambda: self._time_out(event_id))
        self._plan_flush()

    def flush(self, leaving: bool = False) -> None:
        """Send what the outbox holds now (one request at a time), unless a retry is waiting.

        `leaving`: the page is hidden or left; everything waiting goes out now (see above).
        """
        self._flush_planned = False
        fresh, self._fresh = self._fresh, []
        for event in fresh:
            timestamp = event.get("timestamp")
            self._outbox.add(
                str(event["event_id"]),
                timestamp if isinstance(timestamp, int) else 0,
                encode(event),
            )
        if not self._outbox.entries():
            return
        # A page being left may be gone before its lock comes (a tracked link's navigation): it
        # saves and sends anyway. Should a new tab adopt those events meanwhile, the collector
        # stores them once.
        if not (self._outbox.claim(self._plan_flush) or leaving):
            return
        self._outbox.save(unheld=leaving)
        if leaving:
            # pagehide, then visibilitychange: one sending per departure.
            if not self._left:
                self._left = True
                self._send_before_leaving()
            return
        self._left = False
        if not (self._in_flight or self._retry_planned):
            self._in_flight = True
            self._deliver(self._outbox.entries()[:BATCH_EVENTS], renewed=False)

    def _send_before_leaving(self) -> None:
        batch: list[Entry] = []
        size = 0
        for entry in self._outbox.entries():
            text = str(entry[2])
            # 100 bytes for the session's identity and the separators, 1000 for the token.
            size += (len(text) if text.isascii() else utf8_length(text)) + 100
            if size > LEAVING_MAX_BODY - 1000 or len(batch) == BATCH_EVENTS:
                break
            batch.append(entry)
        if batch:
            self._sessions.with_session(
                lambda session: self._post(batch, session, renewed=True, leaving=True),
                lambda message: None,
            )

    def _plan_flush(self) -> None:
        if not self._flush_planned:
            self._flush_planned = True
            self._defer(self.flush)

    def _deliver(self, batch: list[Entry], renewed: bool) -> None:
        self._sessions.with_session(
            lambda session: self._post(batch, session, renewed),
            lambda message: self._retry_later(None),
        )

    def _post(
        self, batch: list[Entry], session: Session, renewed: bool, leaving: bool = False
    ) -> None:
        def answered(
            status: int, body: dict[str, object] | None, retry_after: float | None = None
        ) -> None:
            if leaving:
                # What its 2xx names is settled; the rest is left as after a failure.
                if status >= 300 or not self._acknowledge(batch, status, body):
                    failed("")
            elif status == 403 and not renewed:
                # The CSRF token was refused (expired, or the collector's key rotated): renew
                # the session's token once and send again; a second refusal is final.
                self._sessions.forget()
                self._deliver(batch, renewed=True)
            elif status >= 500 or status in RETRYABLE_STATUSES:
                self._retry_later(retry_after)
            else:
                self._settle(batch, status, body)

        texts = [str(entry[2]) for entry in batch]
        csrf_token = session.csrf_token if leaving else None
        payload = events_batch(session.session_id, session.device_id, texts, csrf_token)

        def failed(message: str) -> None:
            # What a leaving request did not deliver (or a beacon sent without an answer) is
            # left to the usual sending, and to a retry if nothing else is planned.
            if not (leaving and (self._in_flight or self._retry_planned)):
                self._retry_later(None)

        self._post_json(
            self._events_url,
            payload,
            {CSRF_HEADER: session.csrf_token},
            answered,
            failed,
            leaving,
        )

    def _settle(self, batch: list[Entry], status: int, body: dict[str, object] | None) -> None:
        """A final answer: a refusal for good settles the whole batch, a 2xx what it names."""
        self._in_flight = False
        if not self._acknowledge(batch, status, body):
            # Some events were not named: sent again after the backoff, so that an answer that
            # never names them (a misbehaving proxy's 200) cannot loop.
            self._retry_later(None)
            return
        self._failures = 0
        if self._outbox.entries():
            self._plan_flush()

    def _acknowledge(self, batch: list[Entry], status: int, body: dict[str, object] | None) -> bool:
        """Settle and remove what the answer settles; False if some events are kept for later."""
        done = set()
        for entry in batch:
            event_id = str(entry[0])
            problem = acknowledgement(event_id, status, body)
            if status < 300 and problem and not problem.startswith(REFUSED):
                continue  # a 2xx that does not name it: kept (the collector stores it once)
            done.add(event_id)
            waiter = self._waiting.pop(event_id, None)
            if waiter is None:
                continue
            resolve, reject = waiter
            if problem is None:
                resolve(event_id)
            else:
                reject(DeliveryError(problem))
        self._outbox.remove(done)
        return len(done) == len(batch)

    def _retry_later(self, retry_after: float | None) -> None:
        """Keep the batch in the outbox and try again after a growing, jittered delay."""
        self._in_flight = False
        self._retry_planned = True
        delay = min(MAX_RETRY_MS, FIRST_RETRY_MS * 2**self._failures)
        delay = int(delay * (0.5 + self._random() / 2))
        if retry_after is not None:
            delay = max(delay, int(retry_after * 1000))
        self._failures += 1

        def retry() -> None:
            self._retry_planned = False
            self.flush()

        self._schedule(delay, retry)

    def _dropped(self, event_ids: list[str]) -> None:
        """Events the full outbox let go: their promises must not say they will be sent (one
        may be in the request in flight, and still be stored)."""
        for event_id in event_ids:
            waiter = self._waiting.pop(event_id, None)
            if waiter is not None:
                waiter[1](
                    DeliveryError(
                        f"event {event_id} was dropped from the outbox (full, or the event too "
                        "old) before the collector acknowledged it; it may not be delivered "
                        "(data-outbox-max-events, -kb, -days)"
                    )
                )

    def _time_out(self, event_id: str) -> None:
        waiter = self._waiting.pop(event_id, None)
        if waiter is not None:
            waiter[1](
                DeliveryError(
                    f"event {event_id} was not acknowledged within {self._timeout_ms // 1000} s; "
                    "it is kept and will be sent again"
                )
            )


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
                    return REFUSED + error_text(entry.get("error"))
        if "error" in body:
            return f"the collector answered HTTP {status}: " + error_text(body.get("error"))
    return f"the collector answered HTTP {status} without acknowledging the event"


def error_text(error: object) -> str:
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        field = error.get("field")
        return f"{message} (field {field})" if field else message
    return str(error)
