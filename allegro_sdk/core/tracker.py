"""allegro.track(): validate the call, and build the event from it, the page and the identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import InvalidCallError
from .event import check_event_name, check_fields, merge_fields
from .url_params import DEFAULT_STRIPPED, strip_event_urls

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from .ports import Clock, NewId
    from .promises import Reject, Resolve

    class Sends(Protocol):
        """What the tracker hands events to: the consent (core/consent.py), which passes them to
        the sender (core/sender.py, or debug mode's logging one)."""

        def send(self, event: dict[str, object], resolve: Resolve, reject: Reject) -> None: ...


PAGE_VIEW = "page_view"


def run_now(task: Callable[[], None]) -> None:
    task()


class Tracker:
    def __init__(
        self,
        sender: Sends,
        read_page: Callable[[], dict[str, str]],
        new_id: NewId,
        clock: Clock,
        customer: Callable[[], str | None] = lambda: None,
        stripped: frozenset[str] = DEFAULT_STRIPPED,
        when_parsed: Callable[[Callable[[], None]], None] = run_now,
    ) -> None:
        self._sender = sender
        self._read_page = read_page
        self._new_id = new_id
        self._clock = clock
        self._customer = customer  # the logged-in member's customer id, read at each call
        self._stripped = stripped  # query parameters removed from url, referer, url_in_click
        # Runs a task once the document is parsed (at once when it is): the page's metadata is
        # read then, so a call made while the page is still loading sees its whole <head>.
        self._when_parsed = when_parsed
        # The current page's page_view: later events on the page point to it (conversion_pv_id).
        self._page_view_id: str | None = None

    def track(self, name: object, data: object, resolve: Resolve, reject: Reject) -> str | None:
        """Track one event; exactly one of `resolve(event_id)` or `reject(error)` is called.

        Returns the new event's id (None for a refused call).
        """
        try:
            event_name = check_event_name(name)
            fields = check_fields(data)
        except InvalidCallError as error:
            reject(error)
            return None
        # Id, time, customer and page view are taken now, at the call; the page's metadata as soon
        # as the document is parsed (now, unless the page is still loading).
        event_id = self._new_id()
        identity: dict[str, object] = {
            "event_id": event_id,
            "event_name": event_name,
            "timestamp": self._clock(),
            "customer_id": self._customer(),
        }
        page_view_id = self._page_view_id
        if event_name == PAGE_VIEW:
            self._page_view_id = event_id

        def send() -> None:
            event = merge_fields(self._read_page(), fields)
            event.update(identity)
            if event_name != PAGE_VIEW and event["conversion_pv_id"] is None:
                event["conversion_pv_id"] = page_view_id
            strip_event_urls(event, self._stripped)
            self._sender.send(event, resolve, reject)

        self._when_parsed(send)
        return event_id
