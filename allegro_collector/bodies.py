"""Reading a JSON request body under a size limit into a model, with every failure a JSON 4xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

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


async def read_body(request: Request, max_bytes: int, timeout_seconds: float) -> bytes:
    """The raw body: a JSON or text media type, not empty, at most `max_bytes`, arrived in
    full within `timeout_seconds` (else 408 and the connection is closed)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type not in ACCEPTED_MEDIA_TYPES:
        raise ApiError(415, f"content type {media_type!r} is not application/json or text/plain")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared[:20]) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(
            408,
            f"the request body did not arrive within {timeout_seconds:g} seconds",
            None,
            {"Connection": "close"},  # the rest of the body may still be on its way
        ) from None
    if size == 0:
        raise ApiError(400, "request body is empty")
    return b"".join(chunks)


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
