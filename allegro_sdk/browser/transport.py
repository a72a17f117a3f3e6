"""POSTing JSON to the collector with fetch()."""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser import aio, window

from allegro_sdk.browser.js import parse_json_object, to_js

if TYPE_CHECKING:
    from allegro_sdk.core.ports import OnFailure, OnResponse


def post_json(
    url: str, body: str, headers: dict[str, str], on_response: OnResponse, on_failure: OnFailure
) -> None:
    # Awaited with browser.aio rather than chained with .then(): Brython 3.15 mixes up Python
    # callbacks passed to .then() across calls (docs/build.md, "Crossing into JavaScript").
    aio.run(_post(url, body, headers, on_response, on_failure))


async def _post(
    url: str, body: str, headers: dict[str, str], on_response: OnResponse, on_failure: OnFailure
) -> None:
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers)
    init = to_js({"method": "POST", "body": body, "headers": all_headers, "credentials": "omit"})
    try:
        response = await window.fetch(url, init)
    except Exception as error:  # noqa: BLE001 - a network failure, reported to the caller
        on_failure(str(getattr(error, "message", error)))
        return
    status = int(response.status)
    try:
        text = await response.text()
    except Exception:  # noqa: BLE001 - an answer without a readable body
        on_response(status, None)
        return
    on_response(status, parse_json_object(str(text)))
