"""allegro.track(): validate, snapshot the page, attach identity, send, and settle the promise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DeliveryError, InvalidCallError, TrackingError
from .event import check_event_name, check_fields, merge_fields
from .json_encoding import encode

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import Clock, NewId, PostJson
    from .session import Session, SessionManager

    Resolve = Callable[[str], None]  # called with the acknowledged event_id
    Reject = Callable[[TrackingError], None]

CSRF_HEADER = "X-Allegro-CSRF"


class Tracker:
    def __init__(
        self,
        collector_url: str,
        sessions: SessionManager,
        post_json: PostJson,
        read_page: Callable[[], dict[str, str]],
        new_id: NewId,
        clock: Clock,
    ) -> None:
        self._events_url = collector_url.rstrip("/") + "/v1/events"
        self._sessions = sessions
        self._post_json = post_json
        self._read_page = read_page
        self._new_id = new_id
        self._clock = clock
        self.customer_id: str | None = None

    def track(self, name: object, data: object, resolve: Resolve, reject: Reject) -> None:
        """Track one event; exactly one of `resolve(event_id)` or `reject(error)` is called."""
        try:
            event_name = check_event_name(name)
            fields = check_fields(data)
        except InvalidCallError as error:
            reject(error)
            return
        # Page metadata and time are taken now, at the call, not later when the event is sent.
        event = merge_fields(self._read_page(), fields)
        event["event_id"] = self._new_id()
        event["event_name"] = event_name
        event["timestamp"] = self._clock()
        event["customer_id"] = self.customer_id

        def send(session: Session) -> None:
            event["session_id"] = session.session_id
            event["device_id"] = session.device_id
            self._send(event, session, resolve, reject)

        self._sessions.with_session(send, lambda message: reject(DeliveryError(message)))

    def _send(
        self,
        event: dict[str, object],
        session: Session,
        resolve: Resolve,
        reject: Reject,
        renewed: bool = False,
    ) -> None:
        event_id = str(event["event_id"])

        def answered(status: int, body: dict[str, object] | None) -> None:
            if status == 403 and not renewed:
                # The CSRF token was refused (expired, or the collector's key rotated): renew
                # the session's token once and send again; a second refusal is final.
                self._sessions.forget()
                self._sessions.with_session(
                    lambda fresh: self._resend(event, fresh, resolve, reject),
                    lambda message: reject(DeliveryError(message)),
                )
                return
            outcome = acknowledgement(event_id, status, body)
            if outcome is None:
                resolve(event_id)
            else:
                reject(DeliveryError(outcome))

        def failed(message: str) -> None:
            reject(DeliveryError(f"could not reach the collector: {message}"))

        body = encode({"events": [event]})
        self._post_json(self._events_url, body, {CSRF_HEADER: session.csrf_token}, answered, failed)

    def _resend(
        self, event: dict[str, object], session: Session, resolve: Resolve, reject: Reject
    ) -> None:
        event["session_id"] = session.session_id
        event["device_id"] = session.device_id
        self._send(event, session, resolve, reject, renewed=True)


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
