"""Fixtures: a real collector served by uvicorn on a free local port, talked to over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_servers import free_socket, serve_in_thread
from pg_cluster import PostgresCluster
from write_gates import HeldGate

from allegro_collector.app import create_app
from allegro_collector.connection_guards import uvicorn_options
from allegro_collector.ingest import WriteGate, always_open
from allegro_collector.settings import Settings

from .support import Collector, FakeClock, StartCollector, make_settings

TEST_DATABASE = "allegro_tests"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the whole run; each test gets a schema of its own."""
    with PostgresCluster.start() as cluster:
        cluster.create_database(TEST_DATABASE)
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A URL of an empty PostgreSQL schema, for one test."""
    return postgres_cluster.create_schema(TEST_DATABASE, f"test_{uuid.uuid4().hex[:16]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Every test of a collector over HTTP runs against both stores."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return make_settings(tmp_path / "unused.sqlite3", postgres_url=url)
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
