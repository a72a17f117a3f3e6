"""The sweeper: each sweep runs in batches until one finds less than a full batch."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from allegro_collector.retention import BATCH_ROWS, Sweep, Sweeper

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
