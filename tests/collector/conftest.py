"""Fixtures: a real collector served by uvicorn on a free local port, talked to over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from allegro_collector.app import create_app
from allegro_collector.ingest import HeldGate, WriteGate, always_open
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
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings, clock=clock, write_gate=write_gate),
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)

        def stop() -> None:
            if isinstance(write_gate, HeldGate):
                write_gate.open()
            client.close()
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()

        stops.append(stop)
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return Collector(settings=settings, client=client, clock=clock)

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def collector(start_collector: StartCollector, settings: Settings) -> Collector:
    return start_collector(settings)
