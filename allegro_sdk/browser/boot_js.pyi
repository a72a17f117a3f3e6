"""The module build/boot.js registers in the bundle: the SDK's only hand-written JavaScript.

`post` makes the SDK's requests (fetch, and sendBeacon for a page being left); `web_locks` is
navigator.locks as the core's Locks. Written in JavaScript because Brython 3.15 mishandles
Python callbacks on promises (docs/build.md, "Crossing into JS"). `start_in_slices` and
`current_script` serve the sliced start (docs/build.md, "Start in slices"). `guard` makes a Python
callback safe to hand to the browser, `debug` says whether the page asked for debug mode
(docs/sdk.md, "Debug mode"), `watch_history` reports route changes for automatic page views,
and `deferred_calls` leaves the work of a track() call to a later task (docs/sdk.md, "What a
call costs the page").
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

debug: bool
"""Debug mode: data-debug on the SDK's script tag, or allegro_debug=1 in the page's query."""

def guard(fn: Callable[..., object]) -> Callable[..., object]:
    """`fn` as a JS function whose exception is reported as one `allegro:` line, never thrown."""

class DeferredCalls:
    """What deferred_calls() gives: `call`, the API method (a JS function returning a Promise),
    and `drain`, which hands the calls queued so far to the handler at once."""

    call: object
    def drain(self) -> None: ...

def deferred_calls(handle: Callable[[JSObject], None]) -> DeferredCalls:
    """An API method whose calls are queued with their Promise's settle functions and the time
    (`[arguments, resolve, reject, Date.now()]`), then handed to `handle` in a later task."""

def watch_history(changed: Callable[[], None]) -> None:
    """Call `changed` after each pushState and replaceState of the page, and on popstate."""
