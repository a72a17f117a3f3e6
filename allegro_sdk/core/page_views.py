"""Automatic page views (`data-page-views="auto"` on the script tag), for single-page apps.

A `page_view` is tracked when the page is shown (on load; for a prerendered page, when it is
activated), on each History API route change (pushState, replaceState, popstate) that changes the
path or the query, and when the page is restored from the back/forward cache. A replaceState to
the same address and a change of the fragment alone are not page views.

The route's title: frameworks set `document.title` after pushState, so a route's page_view is
tracked once the next animation frame has passed AND the title differs from the previous view's,
or 500 ms after the change, whichever comes first (`docs/sdk.md`, "Single-page apps"). A route
left again before that (a redirect) is not counted. Its `referer` is the previous address.

In this mode a `track('page_view')` the page makes itself for the current address is folded into
the automatic one: its fields are added (if the automatic one is not sent yet) and its promise
settles with the automatic one's event id, so there is one page view, not two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .metadata import without_fragment
from .tracker import PAGE_VIEW

if TYPE_CHECKING:
    from collections.abc import Callable

    from .errors import TrackingError
    from .ports import Clock, Schedule
    from .promises import Reject, Resolve

    Track = Callable[[object, object, Resolve, Reject], "str | None"]

TITLE_WAIT_MS = 500
POLL_MS = 50


class View:
    """One page view: its address, what it waits for, and who waits for its outcome."""

    def __init__(self, url: str, referer: str | None) -> None:
        self.url = url
        self.referer = referer
        self.fields: dict[str, object] = {}
        self.sent = False
        self.title = ""
        self.waiters: list[tuple[Resolve, Reject]] = []
        self.stored: str | None = None
        self.refused: TrackingError | None = None

    def settle(self, resolve: Resolve, reject: Reject) -> None:
        """Settle a caller's promise with this view's outcome, now or once it is known."""
        if self.stored is not None:
            resolve(self.stored)
        elif self.refused is not None:
            reject(self.refused)
        else:
            self.waiters.append((resolve, reject))


class AutoPageViews:
    def __init__(
        self,
        track: Track,
        location: Callable[[], str],
        title: Callable[[], str],
        schedule: Schedule,
        next_frame: Callable[[Callable[[], None]], None],
        clock: Clock,
    ) -> None:
        self._track = track
        self._location = location
        self._title = title
        self._schedule = schedule
        self._next_frame = next_frame
        self._clock = clock
        self._view: View | None = None
        self._route = 0  # counts route changes: a waiting view of an older one is dropped

    def start(self, prerendering: bool) -> None:
        """The page is shown; a prerendered page waits for activated()."""
        self._view = View(self._address(), None)
        if not prerendering:
            self._send(self._view)

    def activated(self) -> None:
        """A prerendered page was activated (shown to the visitor)."""
        if self._view is not None and not self._view.sent:
            self._send(self._view)

    def restored(self) -> None:
        """The page came back from the back/forward cache: a new view of the same address."""
        self._route += 1
        self._view = View(self._address(), None)
        self._send(self._view)

    def route_changed(self) -> None:
        """After pushState, replaceState or popstate."""
        url = self._address()
        previous = self._view
        if previous is None or url == previous.url:
            return
        self._route += 1
        route = self._route
        view = self._view = View(url, previous.url)
        old_title = previous.title if previous.sent else self._title()
        started = self._clock()
        frame = [False]

        def ready() -> bool:
            """Send the view if its time has come; False while it must wait."""
            if route != self._route or view.sent:
                return True  # left again before its title came (not a view), or sent
            if self._clock() - started >= TITLE_WAIT_MS or (
                frame[0] and self._title() != old_title
            ):
                self._send(view)
                return True
            return False

        def poll() -> None:
            if not ready():
                self._schedule(POLL_MS, poll)

        def framed() -> None:
            frame[0] = True
            ready()

        self._next_frame(framed)
        self._schedule(POLL_MS, poll)

    def track(self, name: object, data: object, resolve: Resolve, reject: Reject) -> str | None:
        """The API's track(): a page_view for the current address is folded, the rest tracked."""
        view = self._view
        if (
            view is not None
            and isinstance(name, str)
            and name.strip() == PAGE_VIEW
            and (data is None or isinstance(data, dict))
            and self._address() == view.url
        ):
            if not view.sent and data:
                view.fields.update(data)
            view.settle(resolve, reject)
            return view.stored
        return self._track(name, data, resolve, reject)

    def _address(self) -> str:
        return without_fragment(self._location())

    def _send(self, view: View) -> None:
        view.sent = True
        view.title = self._title()
        fields = dict(view.fields)
        if view.referer is not None and "referer" not in fields:
            fields["referer"] = view.referer

        def stored(event_id: str) -> None:
            view.stored = event_id
            waiters, view.waiters = view.waiters, []
            for resolve, _ in waiters:
                resolve(event_id)

        def refused(error: TrackingError) -> None:
            view.refused = error
            waiters, view.waiters = view.waiters, []
            for _, reject in waiters:
                reject(error)

        self._track(PAGE_VIEW, fields or None, stored, refused)
