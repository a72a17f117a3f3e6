"""Fixtures: a real collector and the demo site, each served by uvicorn on a free local port and
talked to over HTTP (as in tests/collector)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from asgi_servers import free_socket, serve_in_thread
from starlette.types import ASGIApp

from allegro_collector.app import create_app as create_collector
from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey
from demo_site.server import create_app as create_demo_site

ADMIN_KEY = "demo-site-tests-admin-key"
MEMBER_SECRET = "demo-site-tests-member-secret-32-bytes-at-least"


@dataclass
class Served:
    url: str
    client: httpx.Client


class StartSite(Protocol):
    def __call__(self, collector_url: str | None = None, **options: Any) -> Served: ...


def unused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(app: ASGIApp, stops: list[Callable[[], None]]) -> Served:
    running = serve_in_thread(app, free_socket())
    client = httpx.Client(base_url=running.url, timeout=10)

    def stop() -> None:
        client.close()
        running.stop()

    stops.append(stop)
    return Served(running.url, client)


@pytest.fixture
def servers() -> Iterator[list[Callable[[], None]]]:
    stops: list[Callable[[], None]] = []
    yield stops
    for stop in reversed(stops):
        stop()


@pytest.fixture
def collector(tmp_path: Path, servers: list[Callable[[], None]]) -> Served:
    settings = Settings(
        db_path=tmp_path / "events.sqlite3",
        signing_key=SigningKey.from_secret("demo-site-tests-csrf-secret"),
        allowed_origins=("http://127.0.0.1:8000",),
        admin_key=ADMIN_KEY,
    )
    return _serve(create_collector(settings), servers)


@pytest.fixture
def start_site(collector: Served, servers: list[Callable[[], None]]) -> StartSite:
    """Start the demo site for the collector; options go to create_app (defaults: configured)."""

    def start(collector_url: str | None = None, **options: Any) -> Served:
        options.setdefault("admin_key", ADMIN_KEY)
        options.setdefault("member_secret", MEMBER_SECRET)
        return _serve(create_demo_site(collector_url or collector.url, **options), servers)

    return start


@pytest.fixture
def site(start_site: StartSite) -> Served:
    return start_site()
