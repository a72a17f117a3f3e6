"""The protocol version of every SDK request, checked before any route reads the request.

The SDK names its version in the URL's query (`?protocol=2`, see `allegro_sdk.core.protocol`);
a request without it is protocol 1. An unknown version on an API path (`/v1/...`) is answered
`400` naming the field `protocol`: a newer bundle talking to an older collector learns why at once.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from allegro_collector.errors import error_body
from allegro_sdk.core.protocol import (
    ACCEPTED_PROTOCOLS,
    PROTOCOL_PARAMETER,
    UNVERSIONED_PROTOCOL,
)

API_PREFIX = "/v1/"
# A refused request's body is read (and dropped) before the answer, up to this much and this
# long: answering while the client still sends makes its socket reset, and it would see a
# network error instead of the 400. Past either bound the answer closes the connection.
DRAIN_MAX_BYTES = 1024 * 1024
DRAIN_SECONDS = 2.0


async def drained(receive: Receive) -> bool:
    """Read the request body to its end within the bounds above; True if it was all read."""
    size = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return False  # the client went away
                size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return True
                if size > DRAIN_MAX_BYTES:
                    return False
    except TimeoutError:
        return False


def protocol_error(query_string: bytes) -> str | None:
    """Why the request's protocol version is refused, or None when it is accepted."""
    values = parse_qs(query_string.decode("latin-1"), keep_blank_values=True).get(
        PROTOCOL_PARAMETER, []
    )
    accepted = " and ".join(str(version) for version in ACCEPTED_PROTOCOLS)
    if not values:
        if UNVERSIONED_PROTOCOL in ACCEPTED_PROTOCOLS:
            return None
        return f"the request names no protocol version; this collector accepts {accepted}"
    if len(values) > 1:
        return f"the protocol version is given {len(values)} times; give it once"
    value = values[0]
    if value.isascii() and value.isdigit() and int(value) in ACCEPTED_PROTOCOLS:
        return None
    return (
        f"unsupported protocol version {value[:20]!r}; this collector accepts {accepted} "
        "(a newer SDK needs a newer collector)"
    )


class ProtocolVersionMiddleware:
    """Refuses, with `400 {"error": {"field": "protocol", ...}}`, an unsupported version."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] != "OPTIONS"
            and scope["path"].startswith(API_PREFIX)
        ):
            message = protocol_error(scope.get("query_string", b""))
            if message is not None:
                headers = None if await drained(receive) else {"Connection": "close"}
                response = JSONResponse(error_body(PROTOCOL_PARAMETER, message), 400, headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
