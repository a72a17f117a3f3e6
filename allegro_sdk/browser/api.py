"""The object pages see as `window.allegro`: a plain JS object whose methods never throw."""

from __future__ import annotations

from typing import TYPE_CHECKING

import javascript
from browser import window

from allegro_sdk.browser.js import js_error, to_js, to_python
from allegro_sdk.core.command_queue import CommandQueue
from allegro_sdk.core.consent import DENIED, GRANTED
from allegro_sdk.core.errors import NotStored, TrackingError
from allegro_sdk.core.protocol import VERSION

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from browser import JSObject

    from allegro_sdk.core.consent import Consent
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

        def forget(self) -> None: ...


def build_api(
    tracker: Tracks, members: MemberCalls, consent: Consent, console: Console
) -> tuple[object, CommandQueue]:
    """The API object and the queue that runs pushed functions with it."""
    api = window.Object.new()

    def promise(method: str, run: Callable[[Settle, Refuse], None]) -> object:
        """A JS Promise settled by `run`; an SDK failure rejects it and is logged, never thrown.
        An event kept from the collector by the visitor's choice resolves, `stored: false`."""

        def executor(resolve: JSObject, reject: JSObject) -> None:
            def refused(error: TrackingError) -> None:
                if isinstance(error, NotStored):
                    # NotStored(message, event_id)
                    resolve(to_js({"event_id": error.args[1], "stored": False}))
                    return
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

        return window.Promise.new(executor)

    def track(*args: object) -> object:
        # *args: a JS caller may pass any number of arguments; a fixed signature would throw.
        def run(settled: Settle, refused: Refuse) -> None:
            name = to_python(args[0]) if args else None
            data = to_python(args[1]) if len(args) > 1 else None
            stored = lambda event_id: settled({"event_id": event_id, "stored": True})  # noqa: E731
            tracker.track(name, data, stored, refused)

        return promise("track", run)

    def login(*args: object) -> object:
        def run(settled: Settle, refused: Refuse) -> None:
            status = consent.status()
            if status != GRANTED:
                refused(TrackingError(f"member.login(): consent is {status}: nothing is sent"))
                return
            credentials = to_python(args[0]) if args else None
            members.login(credentials, lambda customer: settled({"customer_id": customer}), refused)

        return promise("member.login", run)

    def logout(*args: object) -> object:
        def run(settled: Settle, refused: Refuse) -> None:
            if consent.status() == GRANTED:
                members.logout(lambda: settled(None))
            else:
                members.forget()
                settled(None)

        return promise("member.logout", run)

    def current(*args: object) -> object:
        try:
            customer_id = members.current()
        except Exception as error:
            console.error(f"member.current() failed inside the SDK: {error}")
            customer_id = None
        return javascript.NULL if customer_id is None else to_js({"customer_id": customer_id})

    def choose(choice: str) -> Callable[..., object]:
        def call(*args: object) -> object:
            try:
                consent.choose(choice)
            except Exception as error:
                console.error(f"consent: recording '{choice}' failed inside the SDK: {error}")
            return javascript.UNDEFINED

        return call

    def status(*args: object) -> object:
        try:
            return consent.status()
        except Exception as error:
            console.error(f"consent.status() failed inside the SDK: {error}")
            return "denied"

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
    choices = window.Object.new()
    choices.grant = choose(GRANTED)
    choices.deny = choose(DENIED)
    choices.status = status
    api.track = track
    api.consent = choices
    api.member = member
    api.push = push
    api.version = VERSION
    api.__allegro__ = True
    return api, queue
