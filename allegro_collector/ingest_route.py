"""`POST /v1/events` dispatched before the Starlette app, without its middleware layers.

The ingest route is nearly every request a collector serves, and the five layers around the
Starlette app (its error layer, the request metrics, CORS, the protocol version, its exception
layer) plus the router's walk of every route cost it about a sixth of its event-loop time:
each wraps `send`, builds header objects and awaits the next. `IngestRoute` answers that one
path and method itself, doing for it exactly what the layers do, in one function:

- the protocol version (`protocol_version`): an unknown one is refused with 400 (body drained);
- the request counted by endpoint, method and status (`metrics`);
- CORS headers on the answer, as `CORSMiddleware` adds them to a simple request (a preflight is
  an OPTIONS request and goes to the app, as does every other path and method);
- errors answered as the app's handlers answer them (`errors`): an `ApiError` in the protocol's
  JSON shape with its headers, a store that cannot write with 503 and `Retry-After`, a client
  gone mid-body with an empty 400; anything else with the bare 500 of Starlette's error layer
  (no CORS headers, not counted), then raised for the server to log.

Everything else (the body-size limit, the body deadline, shedding before the body is read,
validation, the group commit) is the endpoint's own (`events_api`), the same on both paths.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allegro_collector.errors import ApiError, error_body, handle_api_error
from allegro_collector.metrics import Metrics
from allegro_collector.protocol_version import drained, protocol_error
from allegro_collector.store import StoreUnavailableError
from allegro_sdk.core.protocol import EVENTS_PATH, PROTOCOL_PARAMETER

Endpoint = Callable[[Request], Awaitable[Response]]
StoreUnavailable = Callable[[StoreUnavailableError], Response]

_VARY_ORIGIN = (b"vary", b"Origin")


@functools.lru_cache(maxsize=64)
def _protocol_error(query_string: bytes) -> str | None:
    """`protocol_error`, remembered: an SDK sends the same few query strings every time."""
    return protocol_error(query_string)


class IngestRoute:
    """An ASGI app: `POST /v1/events` to `endpoint`, everything else to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        endpoint: Endpoint,
        cors: CORSMiddleware,
        metrics: Metrics,
        store_unavailable: StoreUnavailable,
    ) -> None:
        self.app = app
        self._endpoint = endpoint
        self._cors = cors
        self._simple_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in cors.simple_headers.items()
        ]
        self._explicit_origin = not cors.allow_all_origins or cors.allow_credentials
        self._counters: dict[int, Callable[[], None]] = {}
        self._requests = metrics.requests
        self._store_unavailable = store_unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != EVENTS_PATH
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        await self._ingest(scope, receive, send)

    def _count(self, status: int) -> None:
        counter = self._counters.get(status)
        if counter is None:
            counter = self._requests.labels(EVENTS_PATH, "POST", str(status)).inc
            self._counters[status] = counter
        counter()

    def _cors_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """What `CORSMiddleware.send` adds to the answer of a simple request."""
        origin: str | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
                break
        if origin is None:
            return [_VARY_ORIGIN]
        if self._explicit_origin and (
            self._cors.allow_all_origins or self._cors.is_allowed_origin(origin)
        ):
            allowed = (b"access-control-allow-origin", origin.encode("latin-1"))
            return [*self._simple_headers, allowed, _VARY_ORIGIN]
        return [*self._simple_headers, _VARY_ORIGIN]

    def _answering(self, send: Send, cors_headers: list[tuple[bytes, bytes]]) -> Send:
        """`send`, adding the CORS headers to the answer and counting it."""

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *cors_headers]
                self._count(message["status"])
            await send(message)

        return answer

    async def _ingest(self, scope: Scope, receive: Receive, send: Send) -> None:
        cors_headers = self._cors_headers(scope)
        refused = _protocol_error(scope.get("query_string", b""))
        if refused is not None:
            headers = None if await drained(receive) else {"Connection": "close"}
            await JSONResponse(error_body(PROTOCOL_PARAMETER, refused), 400, headers)(
                scope, receive, self._answering(send, cors_headers)
            )
            return
        try:
            response = await self._endpoint(Request(scope, receive))
        except ApiError as exc:
            response = handle_api_error(Request(scope), exc)
        except StoreUnavailableError as exc:
            response = self._store_unavailable(exc)
        except ClientDisconnect:
            response = Response(status_code=400)
        except Exception:  # Starlette's error layer: outside CORS and the metrics
            await JSONResponse(error_body(None, "internal server error"), 500)(scope, receive, send)
            raise
        if response.background is not None or type(response).__call__ is not Response.__call__:
            await response(scope, receive, self._answering(send, cors_headers))
            return
        # What `Response.__call__` sends, without a wrapped `send` per message.
        status = response.status_code
        self._count(status)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*response.raw_headers, *cors_headers],
            }
        )
        await send({"type": "http.response.body", "body": response.body})
