"""POSTing JSON to the collector with fetch().

The request itself is made by the bundle's one JavaScript helper (build/boot.js): a Python
coroutine awaiting fetch() makes Brython 3.15 lose track of its frames, request after request
(docs/build.md, "Crossing into JS").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allegro_sdk.browser.boot_js import post
from allegro_sdk.browser.js import parse_json_object
from allegro_sdk.core.json_encoding import encode

if TYPE_CHECKING:
    from allegro_sdk.core.ports import OnFailure, OnResponse

# keepalive lets a request outlive the page (a tracked link's navigation); Chrome gives all of a
# page's keepalive requests 64 KB together, so only small ones use it, and those sent when the
# page is left (the sender keeps them within the budget; a refused one goes as a beacon).
KEEPALIVE_MAX_BODY = 16 * 1024


def post_json(
    url: str,
    body: str,
    headers: dict[str, str],
    on_response: OnResponse,
    on_failure: OnFailure,
    leaving: bool,
) -> None:
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers)

    def answered(status: object, text: object, retry_after: object) -> None:
        on_response(int(str(status)), parse_json_object(str(text)), seconds(retry_after))

    def failed(message: object) -> None:
        on_failure(str(message))

    keepalive = leaving or len(body) <= KEEPALIVE_MAX_BODY
    post(url, body, encode(all_headers), keepalive, leaving, answered, failed)


def seconds(header: object) -> float | None:
    """Retry-After as seconds (the HTTP-date form is rare from a collector and is ignored)."""
    try:
        value = float(str(header))
    except ValueError:
        return None
    return value if value >= 0 else None
