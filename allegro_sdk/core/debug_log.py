"""Debug mode's log: each event's payload, each request to the collector, and each answer.

Only wired when the page asks for it (`data-debug` on the script tag, or `allegro_debug=1` in the
page's query, as build/boot.js decides; docs/sdk.md "Debug mode"): wrappers around the sender and
the transport, so the code that runs on every page does not carry a single check for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .json_encoding import encode

if TYPE_CHECKING:
    from collections.abc import Callable

    from .errors import TrackingError
    from .ports import OnFailure, OnResponse, PostJson
    from .promises import Reject, Resolve
    from .tracker import Sends

    Log = Callable[[str], None]


class LoggingSender:
    """Logs each event as tracked, then whether the collector stored or refused it."""

    def __init__(self, sender: Sends, log: Log) -> None:
        self._sender = sender
        self._log = log

    def send(self, event: dict[str, object], resolve: Resolve, reject: Reject) -> None:
        name, event_id = event.get("event_name"), event.get("event_id")
        self._log(f"tracked {name} {event_id}: {encode(event)}")

        def stored(acknowledged: str) -> None:
            self._log(f"stored {name} {acknowledged}")
            resolve(acknowledged)

        def refused(error: TrackingError) -> None:
            self._log(f"not stored {name} {event_id}: {error.message}")
            reject(error)

        self._sender.send(event, stored, refused)


def logging_post(post: PostJson, log: Log) -> PostJson:
    """`post` that logs each request (address and body) and its answer or failure."""

    def logged(
        url: str,
        body: str,
        headers: dict[str, str],
        on_response: OnResponse,
        on_failure: OnFailure,
        leaving: bool,
    ) -> None:
        log(f"POST {url}{' (page being left)' if leaving else ''}: {body}")

        def answered(status: int, answer: dict[str, object] | None, retry: float | None) -> None:
            log(f"answer {status} from {url}: {encode(answer)}")
            on_response(status, answer, retry)

        def failed(message: str) -> None:
            log(f"no answer from {url}: {message}")
            on_failure(message)

        post(url, body, headers, answered, failed, leaving)

    return logged
