"""`make demo` with a port already taken stops at once, says which, and starts nothing."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo_site.ports import taken_ports

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something already listens on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_taken_ports_are_named(listening: int) -> None:
    free = free_port()
    assert taken_ports({"COLLECTOR_PORT": free, "DEMO_PORT": listening}) == [
        f"{listening} (DEMO_PORT)"
    ]
    assert taken_ports({"COLLECTOR_PORT": free}) == []


def test_make_demo_stops_with_a_clear_message_when_a_port_is_taken(listening: int) -> None:
    collector_port = free_port()
    result = subprocess.run(
        ["make", "demo", f"DEMO_PORT={listening}", f"COLLECTOR_PORT={collector_port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert (
        f"make demo: port {listening} (DEMO_PORT) on 127.0.0.1 is already in use; nothing was "
        "started" in result.stderr
    )
    assert "collector: http://" not in result.stdout  # the servers were never started
    assert taken_ports({"COLLECTOR_PORT": collector_port}) == []
