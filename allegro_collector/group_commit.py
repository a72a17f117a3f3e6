"""Group commit: the batches that arrive while one write is under way are written together next.

One writer (a task on the event loop, its database work in one dedicated thread) takes every
batch waiting, hands them to the store in one call (one transaction, one fsync), and answers each
batch's request only after that commit. Under load a commit covers many requests, so the cost of
the fsync is shared; at rest a batch is written at once, as before (no timer, no added delay).

A failed write fails every batch of its group (each request answers the error, a store that
cannot write now a 503 with Retry-After; none of them is acknowledged); the next group is tried
afresh. A committed group tells each batch the ids the store refused because another device
stored them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from allegro_collector.store import BatchWrite, GroupWritten

# Bounds one transaction, so one huge group cannot hold the write lock for long.
MAX_GROUP_EVENTS = 5000


WriteMany = Callable[[Sequence[BatchWrite]], GroupWritten]
"""Write every batch in one transaction; how many events were new, the ids refused per batch."""

Observer = Callable[[int, int, int, float], None]
"""Told (batches, events, new events, seconds) after every committed group: the metrics' hook."""

Waiting = Callable[[int], None]
"""Told how the number of batches waiting for the next group changed (+1 queued, -n taken)."""


def _ignore(batches: int, events: int, new: int, seconds: float) -> None:
    pass


def _ignore_waiting(change: int) -> None:
    pass


class GroupCommitter:
    """Collects batches on the event loop; one writer task commits them group by group."""

    def __init__(
        self,
        write_many: WriteMany,
        observe: Observer = _ignore,
        waiting_changed: Waiting = _ignore_waiting,
    ) -> None:
        self._write_many = write_many
        self._observe = observe
        self._waiting_changed = waiting_changed
        self._waiting: list[tuple[BatchWrite, asyncio.Future[frozenset[str]]]] = []
        self._wake = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="allegro-writer")
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Write what is waiting, then stop the writer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._waiting:
            await self._write_group()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, batch: BatchWrite) -> frozenset[str]:
        """Queue a batch; returns once it is committed, with the ids of it the store refused
        because another device stored them first."""
        if self._task is None:
            raise RuntimeError("the group committer is not running")
        future: asyncio.Future[frozenset[str]] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, future))
        self._waiting_changed(1)
        self._wake.set()
        # Shielded: a client that disconnects does not cancel the write others share.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                await self._write_group()

    async def _write_group(self) -> None:
        group: list[tuple[BatchWrite, asyncio.Future[frozenset[str]]]] = []
        events = 0
        while self._waiting and (not group or events < MAX_GROUP_EVENTS):
            item = self._waiting.pop(0)
            group.append(item)
            events += len(item[0].events)
        self._waiting_changed(-len(group))
        batches = [batch for batch, _ in group]
        started = time.perf_counter()
        try:
            loop = asyncio.get_running_loop()
            written = await loop.run_in_executor(self._executor, self._write_many, batches)
        except asyncio.CancelledError:
            # Only at shutdown: the write finishes in its thread; put the group back for stop().
            self._waiting[:0] = group
            self._waiting_changed(len(group))
            raise
        except Exception as exc:
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        # Refused ids (another device's) are neither stored nor acknowledged duplicates.
        refused_events = sum(
            1
            for (batch, _), ids in zip(group, written.refused, strict=True)
            for event in batch.events
            if event.event_id in ids
        )
        seconds = time.perf_counter() - started
        # Events of erased devices are acknowledged, yet neither new nor duplicates.
        self._observe(len(group), events - refused_events - written.erased, written.new, seconds)
        for (_, future), refused in zip(group, written.refused, strict=True):
            if not future.done():
                future.set_result(refused)
