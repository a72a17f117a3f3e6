"""Collector processes sharing one PostgreSQL: exactly-once storage and one session per device.

Real `allegro-collector` processes (the console script), on their own ports or as `--workers 2`
on one port, over one database of the throwaway cluster.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .support import ADMIN_KEY, SECRET, make_event
from .test_cli import free_port, running

SCRIPT = str(Path(sys.executable).with_name("allegro-collector"))
ENV = {**os.environ, "ALLEGRO_ADMIN_KEY": ADMIN_KEY, "ALLEGRO_SECRET": SECRET}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def post(client: httpx.Client, session: dict[str, Any], events: list[dict[str, Any]]) -> Any:
    response = client.post(
        "/v1/events", json={"events": events}, headers={"X-Allegro-CSRF": session["csrf_token"]}
    )
    assert response.status_code == 200, response.text
    return response.json()


def renew(client: httpx.Client, session: dict[str, Any]) -> str:
    body = {k: session[k] for k in ("device_id", "session_id", "csrf_token")}
    response = client.post("/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql.encode()).fetchall()


def test_two_collectors_on_one_database_store_each_event_once(postgres_url: str) -> None:
    port_a, port_b = free_port(), free_port()
    with (
        running([SCRIPT, "--port", str(port_a), "--db", postgres_url], ENV, port_a) as a,
        running([SCRIPT, "--port", str(port_b), "--db", postgres_url], ENV, port_b) as b,
    ):
        device = str(uuid.uuid4())
        created = a.post("/v1/sessions", json={"device_id": device}).json()
        session = {**created, "device_id": device}
        events = [make_event(session) for _ in range(40)]
        # Each event sent through both collectors at once (a retry that reached the other
        # process), every page of the device renewing its session through either of them.
        with ThreadPoolExecutor(max_workers=8) as pool:
            posts = [
                pool.submit(post, client, session, events[start : start + 5])
                for start in range(0, len(events), 5)
                for client in (a, b)
            ]
            renewals = [pool.submit(renew, client, session) for client in (a, b) * 5]
            answers = [future.result(timeout=30) for future in posts]
            renewed = {future.result(timeout=30) for future in renewals}
        assert all(not answer["rejected"] for answer in answers)
        assert renewed == {session["session_id"]}, "the device was given a second session"
        stored = rows(postgres_url, "SELECT event_id, count(*) FROM events GROUP BY event_id")
        assert sorted(stored) == sorted((event["event_id"], 1) for event in events)
        assert rows(postgres_url, "SELECT session_id, device_id FROM sessions") == [
            (session["session_id"], device)
        ]
        # Either collector reads what the other stored.
        listed = b.get("/v1/events", params={"limit": 100}, headers=ADMIN).json()["events"]
        assert {event["event_id"] for event in listed} == {event["event_id"] for event in events}
        # An id the first device stored is another device's to reuse through neither process.
        other = str(uuid.uuid4())
        theirs = {**b.post("/v1/sessions", json={"device_id": other}).json(), "device_id": other}
        copy = {**make_event(theirs), "event_id": events[0]["event_id"]}
        answer = b.post(
            "/v1/events", json={"events": [copy]}, headers={"X-Allegro-CSRF": theirs["csrf_token"]}
        )
        assert answer.status_code == 422
        assert answer.json()["rejected"][0]["error"]["field"] == "events.0.event_id"


def test_an_erasure_through_one_collector_holds_for_writes_under_way_through_another(
    postgres_url: str,
) -> None:
    """Events of the device pour in through B while A erases it: once the erasure has answered
    and the last write has, nothing of the device is left (a write under way either finished
    before the erasure's mark, and was deleted, or saw the mark)."""
    port_a, port_b = free_port(), free_port()
    with (
        running([SCRIPT, "--port", str(port_a), "--db", postgres_url], ENV, port_a) as a,
        running([SCRIPT, "--port", str(port_b), "--db", postgres_url], ENV, port_b) as b,
    ):
        device = str(uuid.uuid4())
        session = {**b.post("/v1/sessions", json={"device_id": device}).json()}
        session["device_id"] = device
        stop = threading.Event()
        acknowledged = [0]
        counting = threading.Lock()

        def keep_sending() -> int:
            sent = 0
            with httpx.Client(base_url=str(b.base_url), timeout=10) as own:
                while not stop.is_set():
                    batch = [make_event(session) for _ in range(5)]
                    assert len(post(own, session, batch)["accepted"]) == 5
                    sent += 5
                    with counting:
                        acknowledged[0] += 5
            return sent

        def wait_for_acknowledged(count: int) -> None:
            # Waits on what was acknowledged, not on the clock: on a busy machine the senders may
            # not have stored anything after a fixed sleep.
            deadline = time.monotonic() + 30
            while acknowledged[0] < count and time.monotonic() < deadline:
                time.sleep(0.02)
            assert acknowledged[0] >= count, f"only {acknowledged[0]} events acknowledged"

        with ThreadPoolExecutor(max_workers=4) as pool:
            senders = [pool.submit(keep_sending) for _ in range(4)]
            wait_for_acknowledged(40)
            erased = a.delete(f"/v1/devices/{device}", headers=ADMIN)
            wait_for_acknowledged(acknowledged[0] + 40)  # and still they come
            stop.set()
            sent = sum(future.result(timeout=30) for future in senders)
        assert erased.status_code == 200, erased.text
        assert 0 < erased.json()["events_deleted"] < sent
        assert rows(postgres_url, f"SELECT count(*) FROM events WHERE device_id = '{device}'") == [
            (0,)
        ]
        assert rows(postgres_url, "SELECT count(*) FROM sessions") == [(0,)]


def metric(client: httpx.Client, name: str) -> float:
    text = client.get("/metrics", headers=ADMIN).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    return 0.0


def test_two_workers_on_one_port_count_together(postgres_url: str) -> None:
    port = free_port()
    command = [SCRIPT, "--port", str(port), "--db", postgres_url, "--workers", "2"]
    with running(command, ENV, port) as client:
        device = str(uuid.uuid4())
        session = {**client.post("/v1/sessions", json={"device_id": device}).json()}
        session["device_id"] = device
        events = [make_event(session) for _ in range(30)]

        def send(start: int) -> Any:
            # A connection each, so the kernel spreads them over both processes.
            with httpx.Client(base_url=str(client.base_url), timeout=10) as own:
                return post(own, session, events[start : start + 3])

        with ThreadPoolExecutor(max_workers=10) as pool:
            assert all(answer["accepted"] for answer in pool.map(send, range(0, 30, 3)))
        assert rows(postgres_url, "SELECT count(*) FROM events") == [(30,)]
        # Whichever process answers the scrape, it counts for both.
        for _ in range(4):
            assert metric(client, "allegro_events_stored_total") == 30


def test_every_worker_closes_a_connection_that_sends_no_request(postgres_url: str) -> None:
    """The connection guards run in each of `--workers 2`: idle sockets, whichever process
    accepted them, are closed after --head-timeout, and a request still gets through."""
    port = free_port()
    command = [SCRIPT, "--port", str(port), "--db", postgres_url, "--workers", "2"]
    with running([*command, "--head-timeout", "1"], ENV, port):
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(8)]
        try:
            started = time.monotonic()
            for sock in sockets:
                assert sock.recv(1) == b"", "an idle connection was not closed"
            assert time.monotonic() - started < 12
        finally:
            for sock in sockets:
                sock.close()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200


def test_more_workers_need_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from allegro_collector.cli import main

    with pytest.raises(SystemExit) as caught:
        main(
            ["--db", str(tmp_path / "x.sqlite3"), "--workers", "2"], environ={"ALLEGRO_SECRET": "s"}
        )
    assert caught.value.code == 2
    assert "SQLite has one writer" in capsys.readouterr().err
