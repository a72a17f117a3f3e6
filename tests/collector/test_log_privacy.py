"""No client address is stored or logged: the real `allegro-collector` with `--access-log`,
behind a trusted proxy that names the client, against both stores (PostgreSQL with
`--workers 2`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from allegro_collector.log_privacy import private_path
from allegro_collector.settings import Settings

from .support import ADMIN_KEY, ALLOWED_ORIGIN

CLIENT = "203.0.113.77"  # what the proxy says the client's address is
PROXY = "127.0.0.1"  # the socket's peer: the test, playing the proxy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def exercise(client: httpx.Client) -> str:
    """Sessions, events, a refused session (rate limit by address), an admin read, an export and
    an erasure, all through the proxy; the device id of the erasure."""
    forwarded = {"X-Forwarded-For": CLIENT}
    admin = {**forwarded, "Authorization": f"Bearer {ADMIN_KEY}"}
    device = str(uuid.uuid4())
    session = client.post("/v1/sessions", json={"device_id": device}, headers=forwarded).json()
    event = {
        "event_id": str(uuid.uuid4()),
        "event_name": "page_view",
        "timestamp": 1,
        "device_id": device,
        "session_id": session["session_id"],
        "url": "http://127.0.0.1:8000/article/1",
    }
    posted = client.post(
        "/v1/events",
        json={"events": [event]},
        headers={**forwarded, "X-Allegro-CSRF": session["csrf_token"]},
    )
    assert posted.status_code == 200, posted.text
    refused = client.post("/v1/sessions", json={"device_id": str(uuid.uuid4())}, headers=forwarded)
    assert refused.status_code == 429  # --sessions-per-address 1: counted by address
    assert CLIENT in refused.json()["error"]["message"]  # told to the client, not logged
    read = client.get("/v1/events", params={"device_id": device}, headers=admin)
    assert [e["event_id"] for e in read.json()["events"]] == [event["event_id"]]
    assert client.get(f"/v1/devices/{device}/events", headers=admin).status_code == 200
    other = str(uuid.uuid4())
    assert client.delete(f"/v1/devices/{other}", headers=admin).status_code == 200
    return other


def stored_text(settings: Settings) -> bytes:
    """Everything the database holds: the SQLite files' bytes, or every row of every table."""
    if settings.postgres_url is None:
        files = [settings.db_path.with_name(settings.db_path.name + s) for s in ("", "-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    with psycopg.connect(settings.postgres_url) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        assert {"events", "sessions", "erased_devices"} <= {name for (name,) in tables}
        return "\n".join(
            str(row)
            for (name,) in tables
            for row in connection.execute(f'SELECT t::text FROM "{name}" t'.encode()).fetchall()
        ).encode()


def test_no_client_address_in_the_database_or_the_logs(tmp_path: Path, settings: Settings) -> None:
    port = free_port()
    db = settings.postgres_url or str(settings.db_path)
    command = [sys.executable, "-m", "allegro_collector", "serve", "--port", str(port)]
    command += ["--db", db, "--access-log", "--trusted-proxy", PROXY]
    command += ["--sessions-per-address", "1", "--allow-origin", ALLOWED_ORIGIN]
    if settings.postgres_url is not None:
        # Worker processes install the filter themselves; one kept-alive connection reaches
        # one of them, whose rate limit answers the 429.
        command += ["--workers", "2"]
    env = {**os.environ, "ALLEGRO_ADMIN_KEY": ADMIN_KEY, "ALLEGRO_SECRET": "log-test-secret"}
    log_path = tmp_path / "collector.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                deadline = time.monotonic() + 20
                while True:
                    assert process.poll() is None, log_path.read_text()
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, "the collector did not start"
                        time.sleep(0.05)
                erased = exercise(client)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
    logs = log_path.read_text()
    access = [line for line in logs.splitlines() if '" 2' in line or '" 4' in line]
    assert any('"POST /v1/events HTTP/1.1" 200' in line for line in access), logs
    assert any('"POST /v1/sessions HTTP/1.1" 429' in line for line in access), logs
    assert any('"DELETE /v1/devices/{device_id} HTTP/1.1" 200' in line for line in access), logs
    assert CLIENT not in logs
    assert not [line for line in access if PROXY in line]  # nor the proxy's (the peer's)
    assert erased not in logs  # paths lose their ids and query strings
    assert "device_id=" not in logs

    stored = stored_text(settings)
    assert b"page_view" in stored  # it is the database, and it holds the event
    for address in (CLIENT, PROXY):
        assert address.encode() not in stored.replace(b"http://127.0.0.1:8000", b"")


def test_private_path() -> None:
    assert private_path("/v1/events?device_id=x&limit=5") == "/v1/events"
    device = str(uuid.uuid4())
    assert private_path(f"/v1/devices/{device}") == "/v1/devices/{device_id}"
    assert private_path(f"/v1/devices/{device}/events?x=1") == "/v1/devices/{device_id}/events"
    assert private_path("/v1/sessions") == "/v1/sessions"
