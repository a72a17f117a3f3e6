"""The protocol version of every SDK request, checked before any route reads the request.

The SDK names its version in the URL's query (`?protocol=2`, see `allegro_sdk.core.protocol`);
a request without it is protocol 1. An unknown version on an API path (`/v1/...`) is answered
`400` naming the field `protocol`: a newer bundle talking to an older collector learns why at once.
"""

from __future__ import annotations

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
                response = JSONResponse(error_body(PROTOCOL_PARAMETER, message), 400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
