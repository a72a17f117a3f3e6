"""The application factory: routes, CORS, JSON errors, and the database opened at startup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from allegro_collector import (
    admin_api,
    devices_api,
    events_api,
    export_api,
    health,
    members_api,
    sdk_files,
    sessions_api,
)
from allegro_collector.clock import Clock, epoch_ms
from allegro_collector.delivery_health import DeliveryHealth
from allegro_collector.errors import (
    ApiError,
    error_body,
    handle_api_error,
    handle_client_disconnect,
    handle_http_exception,
    handle_unexpected,
)
from allegro_collector.group_commit import GroupCommitter
from allegro_collector.ingest import WriteGate, always_open
from allegro_collector.ingest_route import IngestRoute
from allegro_collector.metrics import Metrics
from allegro_collector.metrics import routes as metrics_routes
from allegro_collector.protocol_version import ProtocolVersionMiddleware
from allegro_collector.retention import Sweeper, sweeps
from allegro_collector.settings import Settings
from allegro_collector.sqlite_store import SqliteStore
from allegro_collector.store import BatchWrite, GroupWritten, Store, StoreUnavailableError
from allegro_sdk.core.protocol import CSRF_HEADER

logger = logging.getLogger("allegro_collector")


def open_store(settings: Settings) -> Store:
    """The store the settings name: PostgreSQL for a `postgresql://` URL, else the SQLite file."""
    if settings.postgres_url is not None:
        from allegro_collector.postgres_store import PostgresStore

        return PostgresStore(settings.postgres_url, erasure_window_ms=settings.erasure_window_ms)
    return SqliteStore(
        settings.db_path, settings.busy_timeout_ms, erasure_window_ms=settings.erasure_window_ms
    )


def create_app(
    settings: Settings,
    *,
    clock: Clock = epoch_ms,
    write_gate: WriteGate = always_open,
    sdk_dir: Path | None = None,
) -> ASGIApp:
    """`clock` and `write_gate` are test seams: tests move time, and hold or fail batch writes.
    `sdk_dir` holds the SDK bundle to serve (default: the wheel's, or the checkout's static/)."""
    store = open_store(settings)
    sdk_bundle = sdk_files.bundle_or_none(sdk_dir)
    metrics = Metrics()
    delivery = DeliveryHealth(metrics, started_at=clock())

    def write_many(batches: Sequence[BatchWrite]) -> GroupWritten:
        write_gate()
        return store.store_batches(batches)

    committer = GroupCommitter(write_many, metrics.observe_group, metrics.commit_waiting_changed)
    sweeper = Sweeper(sweeps(settings, store), clock, settings.sweep_interval_seconds)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(store.open)
        committer.start()
        sweeping = asyncio.create_task(sweeper.run_forever())
        try:
            yield
        finally:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
            await committer.stop()
            store.close()

    def store_unavailable(exc: StoreUnavailableError) -> Response:
        """The store cannot write now: the client keeps what it sent and comes back later."""
        logger.warning("answering 503: %s", exc)
        message = (
            f"the collector cannot store data now ({exc.reason}); nothing was stored, retry later"
        )
        return JSONResponse(
            error_body(None, message),
            503,
            headers={"Retry-After": str(settings.store_retry_after_seconds)},
        )

    def handle_store_unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StoreUnavailableError)
        return store_unavailable(exc)

    cors_options: dict[str, Any] = {
        "allow_origins": settings.allowed_origins,
        "allow_origin_regex": settings.allowed_origin_regex,
        "allow_methods": ("GET", "POST", "OPTIONS"),
        "allow_headers": ("Content-Type", CSRF_HEADER),
        # Not CORS-safelisted: without this the SDK in the page cannot read it on a 503.
        "expose_headers": ("Retry-After",),
        "max_age": 600,
    }
    ingest = events_api.endpoint(settings, clock, committer, metrics)
    app = Starlette(
        routes=[
            *sessions_api.routes(settings, store, clock),
            *events_api.routes(ingest),
            *export_api.routes(settings, store),
            *devices_api.routes(settings, store, clock),
            *members_api.routes(settings, store, clock),
            *admin_api.routes(settings, store, clock, delivery),
            *health.routes(store, settings.store_retry_after_seconds),
            *metrics_routes(settings, metrics),
            *sdk_files.routes(sdk_bundle),
        ],
        middleware=[
            Middleware(metrics.middleware),
            Middleware(CORSMiddleware, **cors_options),
            # Inside CORS, so that the page's script can read why its version was refused.
            Middleware(ProtocolVersionMiddleware),
        ],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            StoreUnavailableError: handle_store_unavailable,
            ClientDisconnect: handle_client_disconnect,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    # The ingest route's answers without the layers above: the same headers, counts and errors.
    cors = CORSMiddleware(app, **cors_options)
    return IngestRoute(app, ingest, cors, metrics, store_unavailable)
