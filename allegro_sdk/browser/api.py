"""The object pages see as `window.allegro`: a plain JS object whose methods never throw."""

from __future__ import annotations

from typing import TYPE_CHECKING

import javascript
from browser import window

from allegro_sdk.browser.js import js_error, to_js, to_python
from allegro_sdk.core.command_queue import CommandQueue
from allegro_sdk.core.errors import TrackingError

if TYPE_CHECKING:
    from allegro_sdk.core.ports import Console
    from allegro_sdk.core.tracker import Tracker

VERSION = "0.1.0"


def build_api(tracker: Tracker, console: Console) -> tuple[object, CommandQueue]:
    """The API object and the queue that runs pushed functions with it."""
    api = window.Object.new()

    def track(*args: object) -> object:
        # *args: a JS caller may pass any number of arguments; a fixed signature would throw.
        def executor(resolve: object, reject: object) -> None:
            def acknowledged(event_id: str) -> None:
                resolve(to_js({"event_id": event_id}))  # type: ignore[operator]

            def refused(error: TrackingError) -> None:
                console.error(error.message)
                reject(js_error(error.message))  # type: ignore[operator]

            try:
                name = to_python(args[0]) if args else None
                data = to_python(args[1]) if len(args) > 1 else None
                tracker.track(name, data, acknowledged, refused)
            except TrackingError as error:
                refused(error)
            except Exception as error:
                refused(TrackingError(f"track() failed inside the SDK: {error}"))

        return window.Promise.new(executor)

    queue = CommandQueue(api, lambda command, target: command(target), callable, console)  # type: ignore[operator]

    def push(*commands: object) -> object:
        for command in commands:
            queue.run(command)
        return javascript.UNDEFINED

    api.track = track
    api.push = push
    api.version = VERSION
    api.__allegro__ = True
    return api, queue
