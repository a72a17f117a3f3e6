"""The group commit over a real SQLite store: what waits is written together, after its commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from allegro_collector.group_commit import GroupCommitter
from allegro_collector.schemas import Event
from allegro_collector.sqlite_store import SqliteStore
from allegro_collector.store import BatchWrite, GroupWritten, StoreUnavailableError

SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"
DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def batch(count: int = 1) -> BatchWrite:
    events = [
        Event.model_validate(
            {
                "event_id": str(uuid.uuid4()),
                "event_name": "page_view",
                "timestamp": 1_790_000_000_000,
                "device_id": DEVICE,
                "session_id": SESSION,
            }
        )
        for _ in range(count)
    ]
    return BatchWrite(events, 1_790_000_000_000, 1_790_000_000_000 + 1_800_000)


class HeldStore:
    """A real SQLite store whose group writes wait at a gate, recording each group's size."""

    def __init__(self, path: Path) -> None:
        self.store = SqliteStore(path)
        self.store.open()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.groups: list[int] = []
        self.fail_next = False

    def write_many(self, batches: Sequence[BatchWrite]) -> GroupWritten:
        self.entered.set()
        assert self.gate.wait(10), "the test never opened the gate"
        self.groups.append(len(batches))
        if self.fail_next:
            self.fail_next = False
            raise StoreUnavailableError("sqlite", "the disk is full")
        return self.store.store_batches(batches)

    def stored_ids(self) -> set[str]:
        with closing(sqlite3.connect(self.store.path)) as db:
            return {row[0] for row in db.execute("SELECT event_id FROM events")}


@pytest.fixture
def held(tmp_path: Path) -> Iterator[HeldStore]:
    held = HeldStore(tmp_path / "events.sqlite3")
    yield held
    held.gate.set()
    held.store.close()


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run` in a thread of its own: the browser tests' Playwright keeps an event loop
    in the main one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario).result(timeout=30)


async def _until(condition: threading.Event) -> None:
    while not condition.is_set():
        await asyncio.sleep(0.005)


def test_batches_that_wait_behind_a_write_are_committed_together(held: HeldStore) -> None:
    async def scenario() -> None:
        committer = GroupCommitter(held.write_many)
        committer.start()
        first = asyncio.ensure_future(committer.submit(batch()))
        await _until(held.entered)  # the first group is being written
        waiting = [asyncio.ensure_future(committer.submit(batch(2))) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in [first, *waiting])  # nothing before its commit
        held.gate.set()
        assert await asyncio.gather(first, *waiting) == [frozenset()] * 4
        await committer.stop()

    run(scenario())
    assert held.groups == [1, 3]
    assert len(held.stored_ids()) == 7


def test_a_request_that_goes_away_does_not_take_its_batch_out_of_the_write(
    held: HeldStore,
) -> None:
    """A client that disconnects cancels its own wait only: the batch is written with its group,
    and the other requests of the group are answered."""
    gone = batch()
    staying = batch()

    async def scenario() -> None:
        committer = GroupCommitter(held.write_many)
        committer.start()
        leaving = asyncio.ensure_future(committer.submit(gone))
        await _until(held.entered)
        waiting = asyncio.ensure_future(committer.submit(staying))
        await asyncio.sleep(0)
        leaving.cancel()
        held.gate.set()
        assert await waiting == frozenset()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        await committer.stop()

    run(scenario())
    assert held.stored_ids() == {gone.events[0].event_id, staying.events[0].event_id}


def test_a_failed_group_fails_each_of_its_batches_and_the_next_is_tried_afresh(
    held: HeldStore,
) -> None:
    retried = batch()

    async def scenario() -> None:
        committer = GroupCommitter(held.write_many)
        committer.start()
        held.fail_next = True
        held.gate.set()
        with pytest.raises(StoreUnavailableError):
            await committer.submit(batch())
        assert await committer.submit(retried) == frozenset()
        await committer.stop()

    run(scenario())
    assert held.stored_ids() == {retried.events[0].event_id}
