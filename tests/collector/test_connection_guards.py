"""Slow and idle clients against the collector as `allegro-collector` serves it, over real
sockets: idle connections and slowloris heads are closed after the head timeout, a slow body
gets 408, a connection cap closes the longest-idle connection to make room so a normal client is
still served, and running out of file descriptors is logged once per interval."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from pathlib import Path

import httpx
import pytest
import uvicorn
from asgi_servers import free_socket

from allegro_collector.connection_guards import send_at_once
from allegro_collector.settings import Settings

from .support import Collector, StartCollector

ROOT = Path(__file__).resolve().parents[2]


def port_of(collector: Collector) -> int:
    return int(str(collector.client.base_url).rstrip("/").rsplit(":", 1)[1])


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=15)


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (it sends nothing before)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def served(collector: Collector) -> bool:
    with httpx.Client(base_url=collector.client.base_url, timeout=10) as fresh:
        return fresh.get("/healthz").status_code == 200


@pytest.fixture
def guarded(start_collector: StartCollector, settings: Settings) -> Collector:
    return start_collector(
        dataclasses.replace(settings, head_timeout_seconds=1.0, body_timeout_seconds=1.0)
    )


def test_idle_connections_are_closed_after_the_head_timeout(guarded: Collector) -> None:
    with ExitStack() as stack:
        idle = [stack.enter_context(closing(connect(port_of(guarded)))) for _ in range(50)]
        assert served(guarded)
        started = time.monotonic()
        assert all(closed_by_server(sock, 10) for sock in idle)
        assert time.monotonic() - started < 5


def test_a_head_sent_a_byte_at_a_time_is_cut_off(guarded: Collector) -> None:
    """Slowloris: each byte comes before any per-read timeout would fire, the head never ends."""
    head = b"POST /v1/events HTTP/1.1\r\nHost: collector\r\nX-Padding: " + b"a" * 200
    with closing(connect(port_of(guarded))) as sock:
        started = time.monotonic()
        cut = False
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            if closed_by_server(sock, 0.1):
                cut = True
                break
        assert cut, "the server kept reading the slow head"
        assert time.monotonic() - started < 4
    assert served(guarded)


def test_a_slow_head_on_a_kept_alive_connection_is_cut_off_too(guarded: Collector) -> None:
    with closing(connect(port_of(guarded))) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: collector\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request's head, unfinished
        assert closed_by_server(sock, 5)


def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closed(
    guarded: Collector,
) -> None:
    with closing(connect(port_of(guarded))) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: collector\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"events": ['
        )
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in head.lower()
        assert json.loads(body)["error"]["message"] == (
            "the request body did not arrive within 1 seconds"
        )


def test_idle_connections_past_the_cap_make_room_for_a_working_client(
    start_collector: StartCollector, settings: Settings
) -> None:
    collector = start_collector(
        dataclasses.replace(settings, max_connections=20, head_timeout_seconds=60.0)
    )
    with ExitStack() as stack:
        idle = [stack.enter_context(closing(connect(port_of(collector)))) for _ in range(100)]
        # Each connection past the cap closed the one idle the longest: 80 of ours are gone.
        assert served(collector)
        still_open = [sock for sock in idle if not closed_by_server(sock, 0.05)]
        assert len(still_open) <= 20
        assert idle[-1] in still_open  # the newest stay
        session = collector.new_session()
        assert session["session_id"]


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A collector process that may open only 128 files, with the cap set above that on
    purpose (as an operator raising --max-connections too far would): accept() then fails."""
    with closing(free_socket()) as sock:
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.collector.collector_process",
            str(tmp_path / "events.sqlite3"),
            str(port),
            "max_connections=5000",
            "head_timeout_seconds=3",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128)),
    )
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the collector process did not start"
            time.sleep(0.1)
    yield process, port
    process.terminate()  # uvicorn shuts down gracefully: slow on a loaded machine
    try:
        process.wait(timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def test_running_out_of_file_descriptors_is_logged_once_per_interval(
    collector_process: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = collector_process
    with ExitStack() as stack:
        for _ in range(300):  # far more than the process may open; the backlog holds the rest
            stack.enter_context(closing(connect(port)))
        time.sleep(2.5)  # the collector keeps trying to accept, and failing
    # Once the idle connections are closed (head timeout) and ours are gone, it serves again.
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the collector did not recover"
        time.sleep(0.2)
    process.terminate()
    assert process.stderr is not None
    _, log = process.communicate(timeout=60)
    # Without the limit, thousands of these a second (each with its traceback).
    logged = [line for line in log.splitlines() if "socket.accept() out of system resource" in line]
    assert 1 <= len(logged) <= 2, log[-3000:]


def test_connections_send_at_once_on_the_socket_uvicorn_binds_for_workers() -> None:
    """uvicorn binds the listening socket of `--workers N` itself, not as IPPROTO_TCP, so
    asyncio leaves Nagle's algorithm on for its connections (an answer's body then waits for the
    client's delayed ACK); the guarded protocol turns it off on every connection."""
    listening = uvicorn.Config("unused:app", host="127.0.0.1", port=0).bind_socket()
    address = listening.getsockname()

    async def accept_one() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        options: asyncio.Future[tuple[int, int]] = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                before = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                send_at_once(transport)
                after = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                options.set_result((before, after))
                transport.close()

        server = await loop.create_server(Probe, sock=listening)  # closes it when done
        async with server:
            _, writer = await asyncio.open_connection(*address)
            found = await asyncio.wait_for(options, 10)
            writer.close()
            await writer.wait_closed()
        return found

    # A loop of its own in a thread of its own: the browser tests' sync Playwright keeps one
    # running in the main thread.
    with closing(listening), ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(lambda: asyncio.run(accept_one())).result(timeout=30) == (0, 1)
