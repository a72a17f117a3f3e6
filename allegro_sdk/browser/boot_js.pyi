"""The module build/boot.js registers in the bundle: the SDK's only hand-written JavaScript.

`post` makes the SDK's requests (fetch, and sendBeacon for a page being left); `web_locks` is
navigator.locks as the core's Locks. Written in JavaScript because Brython 3.15 mishandles
Python callbacks on promises (docs/build.md, "Crossing into JS"). `start_in_slices` and
`current_script` serve the sliced start (docs/build.md, "Start in slices").
"""

from collections.abc import Callable

from browser import JSObject

from allegro_sdk.core.ports import Locks

def post(
    url: str,
    body: str,
    headers_json: str,
    keepalive: bool,
    beacon: bool,
    on_response: Callable[[object, object, object], None],
    on_failure: Callable[[object], None],
) -> None:
    """POST `body`; then on_response(status, text, Retry-After) or on_failure(message)."""

web_locks: Locks

def start_in_slices(steps: list[Callable[[], None]], on_leave: Callable[[], None]) -> None:
    """Run `steps` in order, each in a slice of its own; `on_leave` if the page is left first."""

current_script: JSObject | None
"""The SDK's own script element, saved while the bundle was evaluated (or None)."""
