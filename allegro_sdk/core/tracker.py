"""allegro.track(): validate the call, and build the event from it, the page and the identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import InvalidCallError
from .event import check_event_name, check_fields, merge_fields

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import Clock, NewId, Sends
    from .promises import Reject, Resolve


PAGE_VIEW = "page_view"


class Tracker:
    def __init__(
        self,
        sender: Sends,
        read_page: Callable[[], dict[str, str]],
        new_id: NewId,
        clock: Clock,
        customer: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._sender = sender
        self._read_page = read_page
        self._new_id = new_id
        self._clock = clock
        self._customer = customer  # the logged-in member's customer id, read at each call
        # The current page's page_view: later events on the page point to it (conversion_pv_id).
        self._page_view_id: str | None = None

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
        event["customer_id"] = self._customer()
        if event_name == PAGE_VIEW:
            self._page_view_id = str(event["event_id"])
        elif event["conversion_pv_id"] is None:
            event["conversion_pv_id"] = self._page_view_id
        self._sender.send(event, resolve, reject)
