"""The application factory: routes, CORS, JSON errors, and the database opened at startup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from allegro_collector import admin_api, events_api, health, members_api, sessions_api
from allegro_collector.clock import Clock, epoch_ms
from allegro_collector.errors import (
    ApiError,
    handle_api_error,
    handle_http_exception,
    handle_unexpected,
)
from allegro_collector.ingest import WriteGate, always_open
from allegro_collector.settings import Settings
from allegro_collector.storage import Storage
from allegro_sdk.core.protocol import CSRF_HEADER


def create_app(
    settings: Settings, *, clock: Clock = epoch_ms, write_gate: WriteGate = always_open
) -> Starlette:
    """`clock` and `write_gate` are test seams: tests move time, and hold or fail batch writes."""
    storage = Storage(settings.db_path)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(storage.open)
        try:
            yield
        finally:
            storage.close()

    return Starlette(
        routes=[
            *sessions_api.routes(settings, storage, clock),
            *events_api.routes(settings, storage, clock, write_gate),
            *members_api.routes(settings, storage, clock),
            *admin_api.routes(settings, storage),
            *health.routes(storage),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=("GET", "POST", "OPTIONS"),
                allow_headers=("Content-Type", CSRF_HEADER),
                # Not CORS-safelisted: without this the SDK in the page cannot read it on a 503.
                expose_headers=("Retry-After",),
                max_age=600,
            )
        ],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
