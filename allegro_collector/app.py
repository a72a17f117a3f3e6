"""The application factory: routes, CORS, JSON errors, and the database opened at startup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from allegro_collector import admin_api, events_api, health, members_api, sessions_api
from allegro_collector.clock import Clock, epoch_ms
from allegro_collector.errors import (
    ApiError,
    error_body,
    handle_api_error,
    handle_client_disconnect,
    handle_http_exception,
    handle_unexpected,
)
from allegro_collector.ingest import WriteGate, always_open
from allegro_collector.retention import Sweep, Sweeper
from allegro_collector.settings import Settings
from allegro_collector.sqlite_store import SqliteStore
from allegro_collector.store import Store, StoreUnavailableError
from allegro_sdk.core.protocol import CSRF_HEADER

logger = logging.getLogger("allegro_collector")


def create_app(
    settings: Settings, *, clock: Clock = epoch_ms, write_gate: WriteGate = always_open
) -> Starlette:
    """`clock` and `write_gate` are seams for tests: they move time, and hold or fail writes."""
    store: Store = SqliteStore(settings.db_path, settings.busy_timeout_ms)
    sweeper = Sweeper(
        [
            Sweep(
                "expired sessions",
                lambda now, limit: store.expire_sessions(
                    now, settings.expired_session_keep_ms, limit
                ),
            )
        ],
        clock,
        settings.sweep_interval_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(store.open)
        sweeping = asyncio.create_task(sweeper.run_forever())
        try:
            yield
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
            store.close()

    def store_unavailable(request: Request, exc: Exception) -> Response:
        """The store cannot write now: the client keeps what it sent and comes back later."""
        assert isinstance(exc, StoreUnavailableError)
        logger.warning("answering 503: %s", exc)
        message = (
            f"the collector cannot store data now ({exc.reason}); nothing was stored, retry later"
        )
        return JSONResponse(
            error_body(None, message),
            503,
            headers={"Retry-After": str(settings.store_retry_after_seconds)},
        )

    return Starlette(
        routes=[
            *sessions_api.routes(settings, store, clock),
            *events_api.routes(settings, store, clock, write_gate),
            *members_api.routes(settings, store, clock),
            *admin_api.routes(settings, store),
            *health.routes(store, settings.store_retry_after_seconds),
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
            StoreUnavailableError: store_unavailable,
            ClientDisconnect: handle_client_disconnect,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
