"""Storage faults over real HTTP: the database locked by another process, a full disk, a
read-only file, a PostgreSQL server that refuses writes. Writes answer 503 with Retry-After on a
connection that stays open, /healthz answers 503 naming the store while writes fail, and both
recover when the fault is gone. A group commit that fails answers 503 to every request in it.

The full disk is a file size limit (RLIMIT_FSIZE) on the collector's process: its writes then
fail exactly as on a full disk (short writes, then EFBIG), without needing a filesystem to fill.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_servers import free_socket

from allegro_collector.settings import Settings
from allegro_collector.sqlite_store import SqliteStore
from tests.write_gates import HeldGate

from .support import StartCollector, make_event, make_settings
from .test_ingest import hold, metric, posting_in_background

ROOT = Path(__file__).resolve().parents[2]


def exchange(
    sock: socket.socket, method: str, path: str, body: bytes = b""
) -> tuple[int, dict[str, str], Any]:
    """One HTTP/1.1 request on an open socket, and its answer (status, headers, JSON body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: collector", f"Content-Length: {len(body)}"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the collector closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    answer_headers = {
        name.lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    length = int(answer_headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the collector closed the connection mid-answer"
        rest += chunk
    return int(status_line.split()[1]), answer_headers, json.loads(rest)


def batch(session: dict[str, Any], count: int = 1, **overrides: Any) -> bytes:
    events = [make_event(session, **overrides) for _ in range(count)]
    return json.dumps({"csrf_token": session["csrf_token"], "events": events}).encode()


def healthy_within(check: Callable[[], int], seconds: float = 5.0) -> bool:
    """Whether /healthz answers 200 within `seconds` (it tries a write at most once a second)."""
    deadline = time.monotonic() + seconds
    while check() != 200:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@contextmanager
def lock_held_by_another_process(db: Path) -> Iterator[None]:
    """Another process holds the database's write lock (BEGIN IMMEDIATE) until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "db.execute('ROLLBACK')\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()


@contextmanager
def postgres_refusing_writes(url: str) -> Iterator[None]:
    """Every write to the collector's tables fails as on a full disk (SQLSTATE 53100, which the
    server raises when it cannot extend a file) until the block ends."""
    tables = ("events", "sessions", "allegro_schema")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' "
            "USING ERRCODE = 'disk_full'; END $$"
        )
        for table in tables:
            connection.execute(
                f"CREATE TRIGGER refuse_writes BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()".encode()
            )
        try:
            yield
        finally:
            for table in tables:
                connection.execute(f"DROP TRIGGER refuse_writes ON {table}".encode())
            connection.execute("DROP FUNCTION refuse_writes()")


@contextmanager
def writes_refused(settings: Settings) -> Iterator[None]:
    """The store cannot write until the block ends: SQLite locked by another process (past the
    collector's busy timeout), or PostgreSQL refusing writes."""
    if settings.postgres_url is not None:
        with postgres_refusing_writes(settings.postgres_url):
            yield
    else:
        with lock_held_by_another_process(settings.db_path):
            yield


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "events.sqlite3")


def test_a_database_locked_by_another_process_is_503_and_unhealthy(
    start_collector: StartCollector, sqlite_settings: Settings
) -> None:
    settings = sqlite_settings
    collector = start_collector(dataclasses.replace(settings, busy_timeout_ms=200))
    session = collector.new_session()
    port = int(str(collector.client.base_url).rsplit(":", 1)[1].rstrip("/"))
    with closing(socket.create_connection(("127.0.0.1", port), timeout=10)) as sock:
        assert exchange(sock, "GET", "/healthz")[0] == 200
        with lock_held_by_another_process(settings.db_path):
            status, headers, body = exchange(sock, "POST", "/v1/events", batch(session))
            assert (status, headers["retry-after"]) == (503, "5")
            assert "locked by another process" in body["error"]["message"]
            assert "nothing was stored" in body["error"]["message"]
            # The same connection still answers: nothing was torn down.
            status, headers, body = exchange(sock, "GET", "/healthz")
            assert (status, headers["retry-after"]) == (503, "5")
            assert body["store"] == f"sqlite {settings.db_path}"
            assert body["error"]["message"].startswith(f"sqlite {settings.db_path} cannot write:")
            new_session = exchange(
                sock,
                "POST",
                "/v1/sessions",
                json.dumps({"device_id": session["device_id"]}).encode(),
            )
            assert new_session[0] == 503
        # The lock is gone: /healthz finds out by itself, and the batch goes through.
        assert healthy_within(lambda: exchange(sock, "GET", "/healthz")[0])
        status, _, body = exchange(sock, "POST", "/v1/events", batch(session))
        assert status == 200 and len(body["accepted"]) == 1
    assert len(collector.stored()) == 1


def test_a_postgres_server_refusing_writes_is_503_and_unhealthy(
    start_collector: StartCollector, postgres_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "unused.sqlite3", postgres_url=postgres_url)
    collector = start_collector(settings)
    session = collector.new_session()
    client = collector.client
    assert client.get("/healthz").status_code == 200
    with postgres_refusing_writes(postgres_url):
        answer = client.post("/v1/events", content=batch(session))
        assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
        message = answer.json()["error"]["message"]
        assert "DiskFull (53100)" in message and "nothing was stored" in message
        health = client.get("/healthz")
        assert (health.status_code, health.headers["retry-after"]) == (503, "5")
        assert health.json()["store"].startswith("postgresql ")
        assert "DiskFull (53100)" in health.json()["error"]["message"]
        assert postgres_url.rsplit("@", 1)[0] not in health.text  # no credentials
        assert client.post(
            "/v1/sessions", json={"device_id": session["device_id"]}
        ).status_code == (503)
    assert healthy_within(lambda: client.get("/healthz").status_code)
    answer = client.post("/v1/events", content=batch(session))
    assert answer.status_code == 200 and len(answer.json()["accepted"]) == 1
    assert len(collector.stored()) == 1


def test_a_group_that_cannot_be_written_is_503_to_every_request_in_it(
    start_collector: StartCollector, settings: Settings
) -> None:
    """Batches committed together fail together: none of them is acknowledged, and each is
    answered the 503 (so each client keeps its batch and sends it again)."""
    gate = HeldGate()
    collector = start_collector(dataclasses.replace(settings, busy_timeout_ms=200), write_gate=gate)
    session = collector.new_session()
    batches = [[make_event(session)] for _ in range(4)]
    gate.close()
    with posting_in_background(collector, batches[:1], session) as first:
        hold(collector, gate, 1)  # the first group: one batch, held at the gate
        with posting_in_background(collector, batches[1:], session) as rest:
            deadline = time.monotonic() + 10
            while metric(collector, "allegro_commit_waiting") < 3:  # the next group, queued
                assert time.monotonic() < deadline
                time.sleep(0.01)
            with writes_refused(collector.settings):
                gate.open()
                answers = [future.result(timeout=30) for future in [*first, *rest]]
                health = collector.client.get("/healthz")
                assert health.status_code == 503
    assert metric(collector, "allegro_write_seconds_count") == 0  # no group was committed
    for answer in answers:
        assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
        assert "nothing was stored" in answer.json()["error"]["message"]
    assert collector.stored() == []
    assert healthy_within(lambda: collector.client.get("/healthz").status_code)
    for events in batches:  # what the clients do: send the same batches again
        assert collector.post_events(session, events).status_code == 200
    assert {e["event_id"] for e in collector.stored()} == {b[0]["event_id"] for b in batches}


@dataclasses.dataclass
class CollectorProcess:
    process: subprocess.Popen[str]
    url: str
    db: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15)


@pytest.fixture
def collector_process() -> Iterator[Callable[..., CollectorProcess]]:
    """Start `tests.collector.collector_process` (settings as KEY=VALUE) in a process of its own."""
    started: list[subprocess.Popen[str]] = []

    def start(
        db: Path, *pairs: str, preexec_fn: Callable[[], None] | None = None
    ) -> CollectorProcess:
        with closing(free_socket()) as sock:
            port = sock.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.collector.collector_process", str(db), str(port), *pairs],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=preexec_fn,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the collector process did not start"
                time.sleep(0.1)
        return CollectorProcess(process, url, db)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=60)
        if process.stderr is not None:
            process.stderr.close()


def test_a_full_disk_is_503_and_unhealthy_until_there_is_room(
    tmp_path: Path, collector_process: Callable[..., CollectorProcess]
) -> None:
    limit = 512 * 1024
    running = collector_process(
        tmp_path / "events.sqlite3",
        preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY)
        ),
    )
    big = {"blob": "x" * 15_000}
    with running.client() as client:
        device = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
        session = {
            **client.post("/v1/sessions", json={"device_id": device}).json(),
            "device_id": device,
        }
        statuses = []
        for _ in range(60):
            response = client.post(
                "/v1/events",
                content=batch(session, 3, data=big),
                headers={"Content-Type": "application/json"},
            )
            statuses.append(response.status_code)
            if response.status_code != 200:
                break
        assert statuses[-1] == 503, statuses
        assert response.headers["retry-after"] == "5"
        message = response.json()["error"]["message"]
        assert "full (SQLITE_FULL)" in message or "I/O error (SQLITE_IOERR)" in message
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["store"] == f"sqlite {running.db}"
        # Room again (the limit lifted): health and writes recover.
        resource.prlimit(
            running.process.pid,
            resource.RLIMIT_FSIZE,
            (resource.RLIM_INFINITY, resource.RLIM_INFINITY),
        )
        assert healthy_within(lambda: client.get("/healthz").status_code)
        response = client.post(
            "/v1/events",
            content=batch(session, 3, data=big),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200
        # Every acknowledged event is stored, once.
        acknowledged = 3 * (statuses.count(200) + 1)
    with closing(sqlite3.connect(running.db)) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (acknowledged,)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` cannot be opened for writing by this user. Root may write any file whatever its
    mode, so as root the file is made immutable (chattr +i) instead of read-only (chmod)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        with pytest.raises(PermissionError):
            path.open("r+b")
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_a_read_only_database_file_is_503_and_unhealthy(
    tmp_path: Path, collector_process: Callable[..., CollectorProcess]
) -> None:
    """The collector's process may read the database file but not write it (SQLite then opens
    it read-only): sessions and batches are 503 and /healthz says why."""
    db = tmp_path / "events.sqlite3"
    store = SqliteStore(db)
    store.open()
    store.close()
    with read_only(db):
        running = collector_process(db)
        try:
            with running.client() as client:
                device = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
                response = client.post("/v1/sessions", json={"device_id": device})
                assert response.status_code == 503
                assert response.headers["retry-after"] == "5"
                assert "read-only" in response.json()["error"]["message"]
                health = client.get("/healthz")
                assert health.status_code == 503
                assert "read-only" in health.json()["error"]["message"]
        finally:
            running.process.terminate()
            running.process.wait(timeout=60)
