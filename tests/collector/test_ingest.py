"""The bounded ingest queue and group commit: a full queue answers 503 + Retry-After before the
body is read and stores nothing; batches that wait together are committed together."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from write_gates import HeldGate

from allegro_collector.errors import ApiError
from allegro_collector.ingest import IngestQueue

from .support import ALLOWED_ORIGIN, Collector, StartCollector, make_event, make_settings

FAIL_INSERTS = (
    "CREATE TRIGGER fail_inserts BEFORE INSERT ON events "
    "BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END"
)


@pytest.fixture
def gate() -> HeldGate:
    return HeldGate()


@pytest.fixture
def bounded(start_collector: StartCollector, tmp_path: Path, gate: HeldGate) -> Collector:
    """A collector with room for two pending batches and a write gate the test controls."""
    settings = make_settings(tmp_path / "events.sqlite3", max_pending_batches=2)
    return start_collector(settings, write_gate=gate)


@contextmanager
def posting_in_background(
    collector: Collector, batches: list[list[dict[str, Any]]], session: dict[str, Any]
) -> Iterator[list[Future[httpx.Response]]]:
    """POST each batch from its own thread and client, so they can wait at the gate together."""

    def post(events: list[dict[str, Any]]) -> httpx.Response:
        with httpx.Client(base_url=collector.client.base_url, timeout=10) as client:
            return client.post(
                "/v1/events",
                json={"events": events},
                headers={"X-Allegro-CSRF": session["csrf_token"]},
            )

    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        yield [pool.submit(post, events) for events in batches]


def assert_full(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    error = response.json()["error"]
    assert error["field"] is None
    assert "busy" in error["message"] and "retry" in error["message"]


# uvicorn drops the connection after an unhandled exception, so a 500 must not be followed by
# another request on the same kept-alive connection.
NO_KEEP_ALIVE = {"Connection": "close"}


def stored_ids(collector: Collector) -> set[str]:
    return {row[0] for row in collector.db_rows("SELECT event_id FROM events")}


def metric(collector: Collector, name: str) -> float:
    """A sample of GET /metrics (Prometheus text format), 0 when it is not there yet."""
    response = collector.client.get("/metrics", headers=collector.admin_headers)
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    return 0.0


def wait_for_pending(collector: Collector, count: int) -> None:
    """Until `count` batches are in the collector (read, waiting for or at the write gate)."""
    deadline = time.monotonic() + 10
    while metric(collector, "allegro_ingest_pending") < count:
        assert time.monotonic() < deadline, f"{count} batches did not arrive"
        time.sleep(0.01)


def hold(collector: Collector, gate: HeldGate, count: int) -> None:
    """The first batch held at the write gate, the others queued behind it for the next group."""
    assert gate.wait_for_waiting(1), "no batch reached the write gate"
    wait_for_pending(collector, count)


def test_full_queue_is_503_and_nothing_of_the_refused_batch_is_stored(
    bounded: Collector, gate: HeldGate
) -> None:
    session = bounded.new_session()
    waiting = [[make_event(session), make_event(session)], [make_event(session)]]
    refused = [make_event(session)]
    gate.close()
    with posting_in_background(bounded, waiting, session) as futures:
        hold(bounded, gate, 2)
        response = bounded.client.post(
            "/v1/events",
            json={"events": refused},
            headers={"X-Allegro-CSRF": session["csrf_token"], "Origin": ALLOWED_ORIGIN},
        )
        assert_full(response)
        assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "retry-after" in response.headers["access-control-expose-headers"].lower()
        assert not any(future.done() for future in futures), "acknowledged before the commit"
        assert stored_ids(bounded) == set()
        gate.open()
        answers = [future.result(timeout=10) for future in futures]
    for answer, events in zip(answers, waiting, strict=True):
        assert answer.status_code == 200
        assert answer.json() == {"accepted": [e["event_id"] for e in events], "rejected": []}
    assert stored_ids(bounded) == {e["event_id"] for events in waiting for e in events}
    # Retried once there is room, the refused batch is stored like any other.
    retry = bounded.post_events(session, refused)
    assert retry.json()["accepted"] == [refused[0]["event_id"]]
    assert refused[0]["event_id"] in stored_ids(bounded)


def test_a_full_queue_refuses_before_reading_and_a_batch_storing_nothing_frees_its_place(
    bounded: Collector, gate: HeldGate
) -> None:
    session = bounded.new_session()
    gate.close()
    with posting_in_background(bounded, [[make_event(session)]], session) as first:
        hold(bounded, gate, 1)
        # One place left: batches that store nothing take it only while they are read.
        assert bounded.post_events(session, []).status_code == 200
        assert bounded.post_events(session, [make_event(session, timestamp="x")]).status_code == 422
        assert bounded.new_session()["session_id"]  # sessions are not held by the gate
        with posting_in_background(bounded, [[make_event(session)]], session) as second:
            hold(bounded, gate, 2)
            # Full: refused before the body is read, so even an empty batch is 503.
            assert_full(bounded.post_events(session, []))
            assert_full(
                bounded.client.post(
                    "/v1/events",
                    content=b"not even json",
                    headers={"X-Allegro-CSRF": session["csrf_token"]},
                )
            )
            assert metric(bounded, "allegro_batches_shed_total") == 2
            gate.open()
            assert [f.result(timeout=10).status_code for f in [*first, *second]] == [200, 200]


def test_batches_waiting_together_are_committed_together(
    start_collector: StartCollector, tmp_path: Path, gate: HeldGate
) -> None:
    collector = start_collector(make_settings(tmp_path / "events.sqlite3"), write_gate=gate)
    session = collector.new_session()
    gate.close()
    batches = [[make_event(session)] for _ in range(6)]
    with posting_in_background(collector, batches[:1], session) as first:
        hold(collector, gate, 1)
        with posting_in_background(collector, batches[1:], session) as rest:
            hold(collector, gate, 6)
            deadline = time.monotonic() + 10
            while metric(collector, "allegro_commit_waiting") < 5:  # all validated, queued
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert stored_ids(collector) == set()
            gate.open()
            answers = [future.result(timeout=10) for future in [*first, *rest]]
    assert [answer.status_code for answer in answers] == [200] * 6
    assert stored_ids(collector) == {batch[0]["event_id"] for batch in batches}
    # Two commits: the first batch alone, then the five that waited behind it, in one group.
    assert metric(collector, "allegro_write_seconds_count") == 2
    assert metric(collector, "allegro_committed_batches_total") == 6
    assert metric(collector, "allegro_events_stored_total") == 6


def test_sequential_batches_beyond_the_bound_are_all_stored(
    start_collector: StartCollector, tmp_path: Path
) -> None:
    collector = start_collector(make_settings(tmp_path / "one.sqlite3", max_pending_batches=1))
    session = collector.new_session()
    events = [make_event(session) for _ in range(5)]
    for event in events:
        assert collector.post_events(session, [event]).status_code == 200
    assert stored_ids(collector) == {e["event_id"] for e in events}


def test_a_failed_write_frees_its_place(bounded: Collector, gate: HeldGate) -> None:
    session = bounded.new_session()
    with closing(sqlite3.connect(bounded.settings.db_path)) as db:
        db.execute(FAIL_INSERTS)
        db.commit()
        for _ in range(3):  # more failures than places: a leak would leave the queue full
            failed = bounded.post_events(session, [make_event(session)], headers=NO_KEEP_ALIVE)
            assert failed.status_code == 500
            assert failed.json() == {"error": {"field": None, "message": "internal server error"}}
        db.execute("DROP TRIGGER fail_inserts")
        db.commit()
    assert stored_ids(bounded) == set()
    # Both places are free again: exactly two batches fit before the third is refused.
    gate.close()
    batches = [[make_event(session)], [make_event(session)]]
    with posting_in_background(bounded, batches, session) as futures:
        hold(bounded, gate, 2)
        assert_full(bounded.post_events(session, [make_event(session)]))
        gate.open()
        assert [future.result(timeout=10).status_code for future in futures] == [200, 200]


def test_a_failing_gate_fails_the_write_and_frees_its_place(
    start_collector: StartCollector, tmp_path: Path
) -> None:
    failing = threading.Event()
    failing.set()

    def gate() -> None:
        if failing.is_set():
            raise OSError("injected disk failure")

    collector = start_collector(
        make_settings(tmp_path / "events.sqlite3", max_pending_batches=1), write_gate=gate
    )
    session = collector.new_session()
    for _ in range(2):
        failed = collector.post_events(session, [make_event(session)], headers=NO_KEEP_ALIVE)
        assert failed.status_code == 500
    failing.clear()
    event = make_event(session)
    assert collector.post_events(session, [event]).json()["accepted"] == [event["event_id"]]
    assert stored_ids(collector) == {event["event_id"]}


def test_queue_refuses_when_full_waits_in_order_and_frees_on_every_exit() -> None:
    async def scenario() -> None:
        queue = IngestQueue(max_pending=1, retry_after_seconds=7, hold_seconds=0.2)
        async with queue.slot():
            assert queue.pending == 1
            started = time.monotonic()
            with pytest.raises(ApiError) as full:
                async with queue.slot():
                    pass
            assert time.monotonic() - started >= 0.2  # held, then refused
            assert (full.value.status, full.value.headers) == (503, {"Retry-After": "7"})
            assert queue.pending == 1
        assert queue.pending == 0
        with pytest.raises(RuntimeError):
            async with queue.slot():
                raise RuntimeError("write failed")
        assert queue.pending == 0

        # A request waiting for a place gets the first one freed, before any newcomer.
        order: list[str] = []
        release = asyncio.Event()

        async def use(name: str) -> None:
            async with queue.slot():
                order.append(name)
                await release.wait()

        first = asyncio.create_task(use("first"))
        await asyncio.sleep(0)
        waiting = asyncio.create_task(use("waiting"))
        await asyncio.sleep(0)
        assert queue.waiting == 1
        release.set()
        await asyncio.gather(first, waiting)
        assert order == ["first", "waiting"] and queue.pending == 0

        # Cancelled while writing, or while waiting for a place: nothing leaks.
        release.clear()
        holder = asyncio.create_task(use("holder"))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(use("waiter"))
        await asyncio.sleep(0)
        waiter.cancel()
        holder.cancel()
        for task in (holder, waiter):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert queue.pending == 0 and queue.waiting == 0

    # In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=30)


def test_held_gate_counts_waiting_writes() -> None:
    gate = HeldGate(closed=True)
    assert not gate.wait_for_waiting(1, timeout=0.01)
    writer = threading.Thread(target=gate)
    writer.start()
    assert gate.wait_for_waiting(1)
    assert gate.waiting == 1
    gate.open()
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert gate.waiting == 0
    gate()  # open: passes straight through
