"""POSTing JSON to the collector with fetch()."""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import aio, window

from allegro_sdk.browser.js import parse_json_object, to_js

if TYPE_CHECKING:
    from allegro_sdk.core.ports import OnFailure, OnResponse


KEEPALIVE_MAX_BODY = 16 * 1024


def post_json(
    url: str, body: str, headers: dict[str, str], on_response: OnResponse, on_failure: OnFailure
) -> None:
    # Awaited with browser.aio rather than chained with .then(): Brython 3.15 mixes up Python
    # callbacks passed to .then() across calls (docs/build.md, "Crossing into JS").
    aio.run(_post(url, body, headers, on_response, on_failure))


async def _post(
    url: str, body: str, headers: dict[str, str], on_response: OnResponse, on_failure: OnFailure
) -> None:
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers)
    init = to_js(
        {
            "method": "POST",
            "body": body,
            "headers": all_headers,
            "credentials": "omit",
            # keepalive lets a request outlive the page (a tracked link's navigation); Chrome
            # gives all of a page's keepalive requests 64 KB together, so only small ones use it.
            "keepalive": len(body) <= KEEPALIVE_MAX_BODY,
        }
    )
    try:
        response = await window.fetch(url, init)
    except Exception as error:
        on_failure(str(getattr(error, "message", error)))
        return
    status = int(response.status)
    retry_after = seconds(
        window.Reflect.apply(window.Headers.prototype.get, response.headers, ["Retry-After"])
    )
    try:
        # Reflect.apply, not response.text(): Brython 3.15 can bind a JS method called from
        # Python to an earlier object of the same class (docs/build.md, "Crossing into JS").
        text = await window.Reflect.apply(window.Response.prototype.text, response, [])
    except Exception:
        on_response(status, None, retry_after)
        return
    on_response(status, parse_json_object(str(text)), retry_after)


def seconds(header: object) -> float | None:
    """Retry-After as seconds (the HTTP-date form is rare from a collector and is ignored)."""
    try:
        value = float(str(header))
    except ValueError:
        return None
    return value if value >= 0 else None
