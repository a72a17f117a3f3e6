"""The pytest fixtures of the kit: `pytest_plugins = ["allegro_sdk.testing.plugin"]` in a
conftest.py. A module of its own, so that importing `allegro_sdk.testing` (for `MicroClient`)
does not import the plugin before pytest can rewrite its asserts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from allegro_collector.micro import running_micro
from allegro_sdk.testing.micro_client import MicroClient


@pytest.fixture(scope="session")
def allegro_micro_options() -> dict[str, Any]:
    """Keyword arguments for the micro collector: `member_secret` with `member_audience`
    (member login), `allowed_origins` (origins besides every http loopback origin), `out`
    (where each event is printed; None for nowhere)."""
    return {}


@pytest.fixture(scope="session")
def allegro_micro_server(allegro_micro_options: dict[str, Any]) -> Iterator[MicroClient]:
    """One micro collector for the whole test session, on a free port of 127.0.0.1."""
    with running_micro(**allegro_micro_options) as micro:
        yield MicroClient(micro.url, admin_key=micro.settings.admin_key)


@pytest.fixture
def allegro_micro(allegro_micro_server: MicroClient) -> MicroClient:
    """The session's micro collector, its record emptied for this test."""
    allegro_micro_server.reset()
    return allegro_micro_server
