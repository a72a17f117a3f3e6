"""The object pages see as `window.allegro`: a plain JS object whose methods never throw."""

from __future__ import annotations

from typing import TYPE_CHECKING

import javascript
from browser import window

from allegro_sdk.browser.boot_js import deferred_calls
from allegro_sdk.browser.js import js_error, to_js, to_python
from allegro_sdk.core.command_queue import CommandQueue
from allegro_sdk.core.errors import TrackingError
from allegro_sdk.core.protocol import VERSION

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from browser import JSObject

    from allegro_sdk.core.call_time import CallTime
    from allegro_sdk.core.ports import Console

    Settle = Callable[[object], None]
    Refuse = Callable[[TrackingError], None]

    class Tracks(Protocol):
        """What track() calls: the Tracker, automatic page views, or the unconfigured stand-in."""

        def track(
            self,
            name: object,
            data: object,
            resolve: Callable[[str], None],
            reject: Callable[[TrackingError], None],
        ) -> object: ...

    class MemberCalls(Protocol):
        """What member.* calls: Members, or the unconfigured stand-in."""

        def login(
            self,
            credentials: object,
            resolve: Callable[[str], None],
            reject: Callable[[TrackingError], None],
        ) -> None: ...

        def logout(self, done: Callable[[], None]) -> None: ...

        def current(self) -> str | None: ...


def build_api(
    tracker: Tracks, members: MemberCalls, console: Console, call_time: CallTime | None = None
) -> tuple[object, CommandQueue, Callable[[], None]]:
    """The API object, the queue that runs pushed functions with it, and a function that handles
    at once the track() calls still queued (a page being left). `call_time` is pinned to each
    track() call's time while it is handled (core/call_time.py)."""
    api = window.Object.new()

    def settle(
        method: str, resolve: JSObject, reject: JSObject, run: Callable[[Settle, Refuse], None]
    ) -> None:
        """Settle a JS Promise by `run`; an SDK failure rejects it and is logged, never thrown."""

        def refused(error: TrackingError) -> None:
            console.error(error.message)
            reject(js_error(error.message))

        def settled(value: object) -> None:
            resolve(to_js(value))

        try:
            run(settled, refused)
        except TrackingError as error:
            refused(error)
        except Exception as error:
            refused(TrackingError(f"{method}() failed inside the SDK: {error}"))

    def promise(method: str, run: Callable[[Settle, Refuse], None]) -> object:
        def executor(resolve: JSObject, reject: JSObject) -> None:
            settle(method, resolve, reject, run)

        return window.Promise.new(executor)

    def tracking(args: list[object]) -> Callable[[Settle, Refuse], None]:
        def run(settled: Settle, refused: Refuse) -> None:
            # A JS caller may pass any number of arguments.
            name = to_python(args[0]) if args else None
            data = to_python(args[1]) if len(args) > 1 else None
            tracker.track(name, data, lambda event_id: settled({"event_id": event_id}), refused)

        return run

    def handle_tracks(calls: JSObject) -> None:
        """The track() calls made since the last batch, in order: each [arguments, resolve,
        reject, time of the call]."""
        for args, resolve, reject, called_at in calls:
            if call_time is not None:
                call_time.pin(int(called_at))
            try:
                settle("track", resolve, reject, tracking(list(args)))
            finally:
                if call_time is not None:
                    call_time.pin(None)

    tracks = deferred_calls(handle_tracks)

    def login(*args: object) -> object:
        tracks.drain()  # a track() called before it is handled before it, as it was called

        def run(settled: Settle, refused: Refuse) -> None:
            credentials = to_python(args[0]) if args else None
            members.login(credentials, lambda customer: settled({"customer_id": customer}), refused)

        return promise("member.login", run)

    def logout(*args: object) -> object:
        tracks.drain()
        return promise(
            "member.logout", lambda settled, refused: members.logout(lambda: settled(None))
        )

    def current(*args: object) -> object:
        try:
            customer_id = members.current()
        except Exception as error:
            console.error(f"member.current() failed inside the SDK: {error}")
            customer_id = None
        return javascript.NULL if customer_id is None else to_js({"customer_id": customer_id})

    # The queue runs only what `callable` accepted, a JS function, which the core types as object.
    queue = CommandQueue(api, lambda command, target: command(target), callable, console)  # type: ignore[operator]

    def push(*commands: object) -> object:
        for command in commands:
            queue.run(command)
        return javascript.UNDEFINED

    member = window.Object.new()
    member.login = login
    member.logout = logout
    member.current = current
    api.track = tracks.call
    api.member = member
    api.push = push
    api.version = VERSION
    api.__allegro__ = True
    return api, queue, tracks.drain
