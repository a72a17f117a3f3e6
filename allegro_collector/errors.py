"""The one error shape of the protocol: `{"error": {"field": ..., "message": ...}}`."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """A client-visible failure: the HTTP status plus the field (dotted path) it is about."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"an error status must be 4xx or 5xx, not {status}")
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def _utf8_safe(text: str) -> str:
    """Field names echo the client's keys, which JSON lets hold lone surrogates."""
    return text.encode("utf-8", "backslashreplace").decode()


def error_body(field: str | None, message: str) -> dict[str, dict[str, str | None]]:
    return {
        "error": {
            "field": None if field is None else _utf8_safe(field),
            "message": _utf8_safe(message),
        }
    }


def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.field, exc.message), exc.status, headers=exc.headers)


def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404, 405) in the protocol's JSON shape."""
    assert isinstance(exc, HTTPException)
    return JSONResponse(error_body(None, exc.detail), exc.status_code, headers=exc.headers)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Last resort: still JSON; Starlette re-raises afterwards, so the server logs the traceback."""
    return JSONResponse(error_body(None, "internal server error"), 500)


def handle_client_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away mid-body (or a body deadline cut it off): nobody reads an answer,
    and it is not a server error worth a traceback."""
    return Response(status_code=400)
