"""Sends tracked events to the collector from the outbox, and settles each event's promise.

track() only queues: the events queued in one task go out together in a later task (`defer`), so
the host page's own code is never held up by session creation or the network. The sender is in
one of three states: IDLE, SENDING (one request at a time) or BACKING_OFF (a retry is planned).
An event leaves the outbox when the collector acknowledges it, or refuses it for good (a 4xx
other than 403, 408 and 429); what the answer says of each event is a verdict (ACCEPTED, REFUSED,
UNNAMED). A 2xx settles only the events its body names: the others (a proxy's answer, an
unreadable body) are kept and sent again after the backoff. Network errors, 5xx, 408 and 429 are
retried with exponential backoff and jitter, honouring Retry-After. Promises: core/promises.py.

A tab sends only while it holds its outbox's lock (Outbox.claim), so no two live tabs send the
same entry. When the page is hidden or left (leave()), what is waiting goes out at once, in one
body that fits the browser's 64 KB keepalive budget and carries its CSRF token, in case it must
go as a beacon (which cannot set headers); its answer, if one comes, only settles what it
acknowledges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import NotStored
from .event import utf8_length
from .json_encoding import encode
from .protocol import BATCH_EVENTS, CSRF_HEADER, EVENTS_PATH, error_text, events_batch

if TYPE_CHECKING:
    from collections.abc import Callable

    from .outbox import Entry, Outbox
    from .ports import PostJson, Schedule
    from .promises import Promises, Reject, Resolve
    from .session import Session, SessionManager

FIRST_RETRY_MS = 1_000
MAX_RETRY_MS = 60_000
RETRYABLE_STATUSES = (408, 429)
# Chrome's budget for all of a page's keepalive requests and beacons together is 64 KiB.
LEAVING_MAX_BODY = 60 * 1024

# What the sender is doing (named constants: the SDK imports no enum).
IDLE = "idle"
SENDING = "sending"  # one request in flight, or its session being made
BACKING_OFF = "backing off"  # a retry is planned

# What an answer says of one event.
ACCEPTED = "accepted"  # stored (or stored before): its promise resolves
REFUSED = "refused"  # refused for good: removed, its promise rejects with the reason
UNNAMED = "unnamed"  # a 2xx that does not name it: kept and sent again


class Backoff:
    """The wait before the next try: 1 s doubling up to 60 s, jittered down to half, at least
    what Retry-After asks; back to 1 s after a success."""

    def __init__(self, random: Callable[[], float]) -> None:
        self._random = random
        self._failures = 0

    def next_delay(self, retry_after: float | None) -> int:
        delay = min(MAX_RETRY_MS, FIRST_RETRY_MS * 2**self._failures)
        delay = int(delay * (0.5 + self._random() / 2))
        if retry_after is not None:
            delay = max(delay, int(retry_after * 1000))
        self._failures += 1
        return delay

    def reset(self) -> None:
        self._failures = 0


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
        promises: Promises,
    ) -> None:
        self._events_url = collector_url.rstrip("/") + EVENTS_PATH
        self._sessions = sessions
        self._post_json = post_json
        self._defer = defer
        self._outbox = outbox
        self._schedule = schedule
        self._promises = promises
        self._backoff = Backoff(random)
        self._state = IDLE
        self._fresh: list[dict[str, object]] = []  # tracked, not yet in the outbox
        self._flush_planned = False
        # A leaving request went out and the page has not run a flush since: pagehide, then
        # visibilitychange, make one sending per departure.
        self._departed = False

    def send(self, event: dict[str, object], resolve: Resolve, reject: Reject) -> None:
        """Queue one event; at most one of `resolve(event_id)` or `reject(error)` follows."""
        self._promises.watch(str(event["event_id"]), resolve, reject)
        # Encoded and stored at the flush, in the next task: the caller's task stays short.
        self._fresh.append(event)
        self.plan_flush()

    def plan_flush(self) -> None:
        """Flush in a later task (once, however often it is asked for meanwhile)."""
        if not self._flush_planned:
            self._flush_planned = True
            self._defer(self.flush)

    def flush(self) -> None:
        """Send what the outbox holds now, if idle and this tab holds its outbox's lock."""
        self._flush_planned = False
        self._departed = False
        if not self._store_fresh() or not self._outbox.claim(self.plan_flush):
            return
        self._outbox.save()
        if self._state == IDLE:
            self._state = SENDING
            self._deliver(self._outbox.entries()[:BATCH_EVENTS], renewed=False)

    def leave(self) -> None:
        """The page is hidden or left: send everything waiting now, whatever the state.

        A page being left may be gone before its lock comes (a tracked link's navigation): it
        saves and sends anyway. Should a new tab adopt those events meanwhile, the collector
        stores them once.
        """
        if not self._store_fresh():
            return
        self._outbox.claim(self.plan_flush)
        self._outbox.save(unheld=True)
        if self._departed:
            return
        self._departed = True
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
                lambda session: self._post_leaving(batch, session), lambda message: None
            )

    def discard(self) -> None:
        """Consent was withdrawn: forget every waiting event, here and in storage; their
        promises resolve as not stored. Nothing more is sent unless new events come."""
        event_ids = [str(event["event_id"]) for event in self._fresh]
        event_ids += [str(entry[0]) for entry in self._outbox.entries()]
        self._fresh = []
        self._outbox.remove(set(event_ids))
        for event_id in event_ids:
            self._promises.reject(event_id, "not stored: consent was denied", NotStored)

    def _store_fresh(self) -> bool:
        """Move what was tracked into the outbox; False if the outbox is empty."""
        fresh, self._fresh = self._fresh, []
        for event in fresh:
            timestamp = event.get("timestamp")
            self._outbox.add(
                str(event["event_id"]),
                timestamp if isinstance(timestamp, int) else 0,
                encode(event),
            )
        return bool(self._outbox.entries())

    def _deliver(self, batch: list[Entry], renewed: bool) -> None:
        self._sessions.with_session(
            lambda session: self._post(batch, session, renewed),
            lambda message: self._back_off(None),
        )

    def _post(self, batch: list[Entry], session: Session, renewed: bool) -> None:
        # Only what is still waiting: discard() (consent withdrawn) or a bound may have removed
        # events while the session was being made.
        waiting = {entry[0] for entry in self._outbox.entries()}
        batch = [entry for entry in batch if entry[0] in waiting]
        if not batch:
            self._state = IDLE
            if waiting:
                self.plan_flush()
            return

        def answered(
            status: int, body: dict[str, object] | None, retry_after: float | None = None
        ) -> None:
            if status == 403 and not renewed:
                # The CSRF token was refused (expired, or the collector's key rotated): renew
                # the session's token once and send again; a second refusal is final.
                self._sessions.forget()
                self._deliver(batch, renewed=True)
            elif status >= 500 or status in RETRYABLE_STATUSES:
                self._back_off(retry_after)
            elif self._acknowledge(batch, status, body):
                self._state = IDLE
                self._backoff.reset()
                if self._outbox.entries():
                    self.plan_flush()
            else:
                # Some events were not named: sent again after the backoff, so that an answer
                # that never names them (a misbehaving proxy's 200) cannot loop.
                self._back_off(None)

        self._post_json(
            self._events_url,
            events_batch(session.session_id, session.device_id, texts(batch)),
            {CSRF_HEADER: session.csrf_token},
            answered,
            lambda message: self._back_off(None),
            False,
        )

    def _post_leaving(self, batch: list[Entry], session: Session) -> None:
        def answered(
            status: int, body: dict[str, object] | None, retry_after: float | None = None
        ) -> None:
            # What its 2xx names is settled; the rest is left as after a failure.
            if status >= 300 or not self._acknowledge(batch, status, body):
                failed("")

        def failed(message: str) -> None:
            # What it did not deliver (or a beacon sent without an answer) is left to the usual
            # sending, and to a retry if nothing else is under way.
            if self._state == IDLE:
                self._back_off(None)

        body = events_batch(session.session_id, session.device_id, texts(batch), session.csrf_token)
        self._post_json(
            self._events_url, body, {CSRF_HEADER: session.csrf_token}, answered, failed, True
        )

    def _acknowledge(self, batch: list[Entry], status: int, body: dict[str, object] | None) -> bool:
        """Settle and remove what the answer settles; False if some events are kept for later."""
        done = set()
        for entry in batch:
            event_id = str(entry[0])
            outcome, reason = verdict(event_id, status, body)
            if outcome == UNNAMED:
                continue  # kept (the collector stores it once)
            done.add(event_id)
            if outcome == ACCEPTED:
                self._promises.resolve(event_id)
            else:
                self._promises.reject(event_id, reason)
        self._outbox.remove(done)
        return len(done) == len(batch)

    def _back_off(self, retry_after: float | None) -> None:
        """Keep the batch in the outbox and try again after the backoff's delay."""
        self._state = BACKING_OFF

        def retry() -> None:
            self._state = IDLE
            self.flush()

        self._schedule(self._backoff.next_delay(retry_after), retry)


def texts(batch: list[Entry]) -> list[str]:
    return [str(entry[2]) for entry in batch]


def verdict(event_id: str, status: int, body: dict[str, object] | None) -> tuple[str, str]:
    """What the collector's answer says of `event_id`, and for a refusal, why (for the caller)."""
    reason = f"the collector answered HTTP {status} without acknowledging the event"
    if body is not None:
        accepted = body.get("accepted")
        if isinstance(accepted, list) and event_id in accepted:
            return ACCEPTED, ""
        rejected = body.get("rejected")
        if isinstance(rejected, list):
            for entry in rejected:
                if isinstance(entry, dict) and entry.get("event_id") == event_id:
                    why = error_text(entry.get("error"))
                    return REFUSED, "the collector refused the event: " + why
        if "error" in body:
            reason = f"the collector answered HTTP {status}: " + error_text(body.get("error"))
    return (UNNAMED if status < 300 else REFUSED), reason
