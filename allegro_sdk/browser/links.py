"""Tracked links: `<a href="..." data-allegro-track="EVENT" data-allegro-content-id="...">`.

A click sends EVENT with `url_in_click` set to the link's URL and each `data-allegro-*` attribute
as a field (dashes become underscores). The event is sent in the click's own task with a
keepalive request, so a navigation that follows does not cancel it, and the click is never
delayed or prevented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import window

from allegro_sdk.browser.boot_js import guard
from allegro_sdk.browser.js import closest, is_missing

if TYPE_CHECKING:
    from collections.abc import Callable

    from browser import JSObject

TRACK_ATTRIBUTE = "data-allegro-track"
FIELD_PREFIX = "data-allegro-"


def link_fields(element: JSObject) -> dict[str, object]:
    fields: dict[str, object] = {}
    for attribute in element.attributes:
        name = str(attribute.name)
        if name.startswith(FIELD_PREFIX) and name != TRACK_ATTRIBUTE:
            fields[name[len(FIELD_PREFIX) :].replace("-", "_")] = str(attribute.value)
    href = getattr(element, "href", None)
    if href:
        fields["url_in_click"] = str(href)
    return fields


def watch_tracked_links(track: Callable[[object, object], None], flush: Callable[[], None]) -> None:
    """Listen (in the capture phase) for clicks on elements carrying data-allegro-track."""

    def clicked(event: JSObject) -> None:
        try:
            target = event.target
            element = None if is_missing(target) else closest(target, f"[{TRACK_ATTRIBUTE}]")
            if element is None:
                return
            track(str(element.getAttribute(TRACK_ATTRIBUTE)), link_fields(element))
            flush()
        except Exception as error:
            window.console.error(f"allegro: a tracked link could not be tracked: {error}")

    # useCapture as a boolean: with an options object from Python, Brython 3.15's listener is
    # never called (docs/build.md).
    window.document.addEventListener("click", clicked, True)


def send_when_hidden(leave: Callable[[], None]) -> None:
    """Send what is waiting when the page is hidden or left (the last moment it surely runs).

    Chromium fires pagehide first, while the page still says it is visible.
    """

    def hidden(event: JSObject) -> None:
        if str(window.document.visibilityState) == "hidden":
            leave()

    window.document.addEventListener("visibilitychange", guard(hidden))
    window.addEventListener("pagehide", guard(lambda event: leave()))
