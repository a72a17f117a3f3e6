"""Fixtures: a real collector served by uvicorn on a free local port, talked to over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_servers import free_socket, serve_in_thread
from write_gates import HeldGate

from allegro_collector.app import create_app
from allegro_collector.ingest import WriteGate, always_open
from allegro_collector.serving import uvicorn_options
from allegro_collector.settings import Settings

from .support import Collector, FakeClock, StartCollector, make_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "events.sqlite3")


@pytest.fixture
def start_collector() -> Iterator[StartCollector]:
    """Start as many collectors as a test needs; all are stopped at teardown.

    A `HeldGate` passed as `write_gate` is opened before its collector stops, so a failing test
    never leaves batch writes (and so the server's shutdown) hanging.
    """
    stops: list[Callable[[], None]] = []

    def start(settings: Settings, *, write_gate: WriteGate = always_open) -> Collector:
        clock = FakeClock()
        running = serve_in_thread(
            create_app(settings, clock=clock, write_gate=write_gate),
            free_socket(),
            **uvicorn_options(settings),  # as `allegro-collector` serves it
        )
        client = httpx.Client(base_url=running.url, timeout=10)

        def stop() -> None:
            if isinstance(write_gate, HeldGate):
                write_gate.open()
            client.close()
            running.stop()

        stops.append(stop)
        return Collector(settings=settings, client=client, clock=clock)

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def collector(start_collector: StartCollector, settings: Settings) -> Collector:
    return start_collector(settings)
