"""The sweeper: each sweep runs in batches until one finds less than a full batch; over HTTP,
the retention period, and the marks of erased devices kept through their window."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from allegro_collector import retention
from allegro_collector.retention import BATCH_ROWS, Sweep, Sweeper
from allegro_collector.settings import DAY_MS, Settings

from .support import Collector, StartCollector, make_event

T = TypeVar("T")


def run_in_own_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` in a thread of its own: the browser tests' Playwright keeps an event loop
    in this one (the whole suite runs in one process)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=30)


def test_a_sweep_repeats_while_it_finds_full_batches() -> None:
    left = {"sessions": 2 * BATCH_ROWS + 7, "events": 3}
    calls: list[tuple[str, int, int]] = []

    def deleting(name: str) -> Sweep:
        def run(now: int, limit: int) -> int:
            calls.append((name, now, limit))
            count = min(limit, left[name])
            left[name] -= count
            return count

        return Sweep(name, run)

    sweeper = Sweeper([deleting("sessions"), deleting("events")], lambda: 42, 60.0)
    assert run_in_own_thread(sweeper.sweep_once()) == {"sessions": 2 * BATCH_ROWS + 7, "events": 3}
    assert calls == [("sessions", 42, BATCH_ROWS)] * 3 + [("events", 42, BATCH_ROWS)]
    assert run_in_own_thread(sweeper.sweep_once()) == {"sessions": 0, "events": 0}


NOW = 1_790_000_000_000


def wait_for(collector: Collector, sql: str, expected: list[tuple[Any, ...]]) -> None:
    """Until the sweeper (every 0.1 s) has made `sql` answer `expected`."""
    deadline = time.monotonic() + 10
    while (rows := collector.db_rows(sql)) != expected:
        assert time.monotonic() < deadline, f"{sql}: {rows}, not {expected}"
        time.sleep(0.05)


def test_events_past_the_retention_period_are_deleted_in_batches(
    start_collector: StartCollector, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH_ROWS", 3)  # several transactions for a few events
    collector = start_collector(
        dataclasses.replace(settings, event_retention_ms=30 * DAY_MS, sweep_interval_seconds=0.1)
    )
    collector.clock.now = NOW
    old_session = collector.new_session()
    old = [make_event(old_session) for _ in range(8)]
    assert collector.post_events(old_session, old).status_code == 200
    collector.clock.now = NOW + 10 * DAY_MS
    session = collector.new_session()
    recent = [make_event(session) for _ in range(2)]
    assert collector.post_events(session, recent).status_code == 200

    # 30 days after the first events were received, to the millisecond: nothing goes yet.
    collector.clock.now = NOW + 30 * DAY_MS
    time.sleep(0.3)
    assert len(collector.stored()) == 10
    collector.clock.now = NOW + 30 * DAY_MS + 1
    wait_for(collector, "SELECT count(*) FROM events", [(2,)])
    assert sorted(e["event_id"] for e in collector.stored()) == sorted(
        e["event_id"] for e in recent
    )
    # What arrives now is kept.
    now_session = collector.new_session()
    fresh = make_event(now_session)
    assert collector.post_events(now_session, [fresh]).status_code == 200
    time.sleep(0.3)
    assert len(collector.stored()) == 3


def test_sessions_idle_past_a_short_retention_period_are_deleted(
    start_collector: StartCollector, settings: Settings
) -> None:
    collector = start_collector(
        dataclasses.replace(
            settings,
            event_retention_ms=10 * 60_000,  # shorter than the hour expired sessions are kept
            sweep_interval_seconds=0.1,
        )
    )
    collector.clock.now = NOW
    session = collector.new_session()
    assert collector.post_events(session, [make_event(session)]).status_code == 200
    # Idle 30 minutes (its lifetime), then 10 more: the session and its event go.
    collector.clock.now = NOW + 40 * 60_000 + 1
    wait_for(collector, "SELECT count(*) FROM sessions", [(0,)])
    wait_for(collector, "SELECT count(*) FROM events", [(0,)])


def test_the_mark_of_an_erased_device_is_deleted_after_the_window(
    start_collector: StartCollector, settings: Settings
) -> None:
    collector = start_collector(dataclasses.replace(settings, sweep_interval_seconds=0.1))
    collector.clock.now = NOW
    device = str(uuid.uuid4())
    response = collector.client.delete(f"/v1/devices/{device}", headers=collector.admin_headers)
    assert response.status_code == 200
    assert collector.db_rows("SELECT device_id, erased_at FROM erased_devices") == [(device, NOW)]
    collector.clock.now = NOW + settings.erasure_window_ms
    time.sleep(0.3)
    assert collector.db_rows("SELECT count(*) FROM erased_devices") == [(1,)]
    collector.clock.now = NOW + settings.erasure_window_ms + 1
    wait_for(collector, "SELECT count(*) FROM erased_devices", [(0,)])
