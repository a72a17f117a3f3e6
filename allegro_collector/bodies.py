"""Reading a JSON request body under a size limit into a model, with every failure a JSON 4xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from allegro_collector.connection_guards import BODY_RECEIVED
from allegro_collector.errors import ApiError
from allegro_collector.schemas import first_error
from allegro_collector.settings import Settings

Model = TypeVar("Model", bound=BaseModel)

# text/plain because navigator.sendBeacon cannot set headers and needs no CORS preflight.
ACCEPTED_MEDIA_TYPES = frozenset({"application/json", "text/plain"})


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, max_bytes: int, timeout_seconds: float) -> Any:
    return parse_json(await read_body(request, max_bytes, timeout_seconds))


def first_headers(request: Request) -> dict[bytes, bytes]:
    """The request's headers by (lowercase) name, the first of a repeated one as
    `request.headers.get` gives it, in one pass over them rather than one per header read."""
    return dict(reversed(request.scope["headers"]))


async def read_body(
    request: Request,
    max_bytes: int,
    timeout_seconds: float,
    headers: dict[bytes, bytes] | None = None,
) -> bytes:
    """The raw body: a JSON or text media type, not empty, at most `max_bytes`, arrived in
    full within `timeout_seconds` (else 408 and the connection is closed). `headers`: the
    request's `first_headers`, when the caller has them already."""
    if headers is None:
        headers = first_headers(request)
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and media_type not in ACCEPTED_MEDIA_TYPES:
        raise ApiError(415, f"content type {media_type!r} is not application/json or text/plain")
    declared = headers.get(b"content-length", b"").decode("latin-1")
    if declared.isascii() and declared.isdigit() and int(declared[:20]) > max_bytes:
        raise _too_large(max_bytes)
    if request.scope.get(BODY_RECEIVED):  # all there already: reading it cannot wait
        body = await _receive_body(request.receive, max_bytes)
    else:
        try:
            async with asyncio.timeout(timeout_seconds):
                body = await _receive_body(request.receive, max_bytes)
        except TimeoutError:
            raise ApiError(
                408,
                f"the request body did not arrive within {timeout_seconds:g} seconds",
                None,
                {"Connection": "close"},  # the rest of the body may still be on its way
            ) from None
    if not body:
        raise ApiError(400, "request body is empty")
    return body


async def _receive_body(receive: Receive, max_bytes: int) -> bytes:
    """The body's messages joined, refused with 413 as soon as they pass `max_bytes`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"request body is larger than {max_bytes} bytes")


def parse_json(body: bytes) -> Any:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not valid UTF-8") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(400, "request body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None


async def read_model(request: Request, model: type[Model], settings: Settings) -> Model:
    """The body validated as `model`; a 400 naming the first wrong field otherwise."""
    body = await read_body(request, settings.max_body_bytes, settings.body_timeout_seconds)
    return parse_model(body, model)


def parse_model(body: bytes, model: type[Model]) -> Model:
    raw = parse_json(body)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise ApiError(400, message, field) from None
