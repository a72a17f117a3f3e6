"""`GET /metrics`: the collector's counters in the Prometheus text format (prometheus-client).

Same Bearer admin key as the other operator endpoints (Prometheus: `authorization:
{credentials: ...}` in the scrape config). Each app has its own registry, so several collectors
in one process (the tests) count apart. With `--workers N` the processes share one port and a
scrape reaches any one of them, so the CLI sets `PROMETHEUS_MULTIPROC_DIR` before they start and
every scrape answers the sum over all the processes (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import functools
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allegro_collector.admin_api import authorize
from allegro_collector.log_privacy import private_path
from allegro_collector.settings import Settings

# Known paths only as label values: anything else is "other", so no client can add series.
_ENDPOINTS = frozenset(
    {
        "/v1/events",
        "/v1/events/export",
        "/v1/sessions",
        "/v1/members/login",
        "/v1/members/logout",
        "/healthz",
        "/metrics",
        "/v1/devices/{device_id}",
        "/v1/devices/{device_id}/events",
    }
)
_WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "allegro_http_requests",
            "HTTP requests answered, by endpoint and status",
            ("endpoint", "method", "status"),
            registry=r,
        )
        self.events_stored = Counter(
            "allegro_events_stored", "Events stored (new event ids)", registry=r
        )
        self.events_duplicate = Counter(
            "allegro_events_duplicate",
            "Events acknowledged again without a new row: their event_id was already stored",
            registry=r,
        )
        self.events_refused = Counter(
            "allegro_events_refused",
            "Events refused on their own in an accepted batch, by reason",
            ("reason",),
            registry=r,
        )
        self.batches_shed = Counter(
            "allegro_batches_shed",
            "Event batches answered 503 because the ingest queue was full (body not read)",
            registry=r,
        )
        self.write_seconds = Histogram(
            "allegro_write_seconds",
            "Time to write and commit one group of batches",
            buckets=_WRITE_BUCKETS,
            registry=r,
        )
        self.group_batches = Counter(
            "allegro_committed_batches", "Batches committed by group commit", registry=r
        )
        self.ingest_pending = Gauge(
            "allegro_ingest_pending",
            "Event batches being read, validated or written right now",
            registry=r,
            multiprocess_mode="livesum",
        )

        self.commit_waiting = Gauge(
            "allegro_commit_waiting",
            "Validated event batches waiting for the next group commit",
            registry=r,
            multiprocess_mode="livesum",
        )

    def commit_waiting_changed(self, change: int) -> None:
        self.commit_waiting.inc(change)

    def observe_group(self, batches: int, events: int, new: int, seconds: float) -> None:
        self.write_seconds.observe(seconds)
        self.group_batches.inc(batches)
        self.events_stored.inc(new)
        self.events_duplicate.inc(events - new)

    def exposition(self) -> bytes:
        directory = _multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Count every HTTP answer by endpoint, method and status."""
        requests = self.requests

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = private_path(scope["path"])  # a device's endpoints without its id
            endpoint = path if path in _ENDPOINTS else "other"
            method = scope["method"]
            if method not in ("GET", "POST", "DELETE", "OPTIONS"):
                method = "other"

            async def send_counted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    requests.labels(endpoint, method, str(message["status"])).inc()
                await send(message)

            await app(scope, receive, send_counted)

        return counted


async def metrics_endpoint(request: Request, *, settings: Settings, metrics: Metrics) -> Response:
    authorize(request, settings.admin_key)
    body = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def routes(settings: Settings, metrics: Metrics) -> list[Route]:
    endpoint = functools.partial(metrics_endpoint, settings=settings, metrics=metrics)
    return [Route("/metrics", endpoint, methods=["GET"])]
