"""Group commit: the batches that arrive while one write is under way are written together next.

Writer threads (one for SQLite, which has one writer at a time; a few for PostgreSQL, whose
concurrent commits share their WAL flush) each loop on their own: take every batch waiting, hand
them to the store in one call (one transaction, one fsync), and hand the outcome back to the
event loop in one wakeup for the whole group, which answers each batch's request only then,
after that commit. A writer goes straight on to the next group without waiting for the event
loop, so under load one commit follows the other and covers many requests; at rest a batch is
written at once (no timer, no added delay).

A failed write fails every batch of its group (each request answers the error, a store that
cannot write now a 503 with Retry-After; none of them is acknowledged); the next group is tried
afresh. A committed group tells each batch the ids the store refused because another device
stored them first.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence

from allegro_collector.store import BatchWrite, GroupWritten

# Bounds one transaction, so one huge group cannot hold the write lock for long.
MAX_GROUP_EVENTS = 5000


WriteMany = Callable[[Sequence[BatchWrite]], GroupWritten]
"""Write every batch in one transaction; how many events were new, the ids refused per batch."""

Observer = Callable[[int, int, int, float], None]
"""Told (batches, events, new events, seconds) after every committed group: the metrics' hook."""

Waiting = Callable[[int], None]
"""Told how the number of batches waiting for the next group changed (+1 queued, -n taken)."""

_Item = tuple[BatchWrite, "asyncio.Future[frozenset[str]]"]


def _ignore(batches: int, events: int, new: int, seconds: float) -> None:
    pass


def _ignore_waiting(change: int) -> None:
    pass


class GroupCommitter:
    """Collects batches on the event loop; `writers` threads commit them group by group.

    The hand-off takes no lock a writer could hold while it waits for the GIL (a
    `queue.SimpleQueue`), and the metrics' hooks run on the event loop only (a writer hands
    them over with the group's outcome).
    """

    def __init__(
        self,
        write_many: WriteMany,
        observe: Observer = _ignore,
        waiting_changed: Waiting = _ignore_waiting,
        *,
        writers: int = 1,
    ) -> None:
        if writers < 1:
            raise ValueError("a group committer needs at least one writer")
        self._write_many = write_many
        self._observe = observe
        self._waiting_changed = waiting_changed
        self._writers = writers
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()  # None: stop
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._threads = [
            threading.Thread(target=self._run, name=f"allegro-writer-{n}", daemon=True)
            for n in range(self._writers)
        ]
        for thread in self._threads:
            thread.start()

    async def stop(self) -> None:
        """Write what is waiting, then stop the writers."""
        threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)  # after everything queued: each writer drains, then stops
        for thread in threads:
            await asyncio.to_thread(thread.join)
        await asyncio.sleep(0)  # run the answers the writers handed back on their way out

    async def submit(self, batch: BatchWrite) -> frozenset[str]:
        """Queue a batch; returns once it is committed, with the ids of it the store refused
        because another device stored them first."""
        if not self._threads or self._loop is None:
            raise RuntimeError("the group committer is not running")
        future: asyncio.Future[frozenset[str]] = self._loop.create_future()
        self._queue.put((batch, future))
        self._waiting_changed(1)
        # A client that disconnects cancels only its own wait (this future): the batch stays
        # queued and is written with its group, which skips answering a done future.
        return await future

    def _run(self) -> None:
        """One writer thread: group after group, until it takes the stop mark."""
        carried: _Item | None = None
        while True:
            item = carried if carried is not None else self._queue.get()
            carried = None
            if item is None:
                return
            group = [item]
            events = len(item[0].events)
            stopping = False
            while events < MAX_GROUP_EVENTS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
                events += len(more[0].events)
            self._write_group(group, events)
            if stopping:
                return

    def _write_group(self, group: list[_Item], events: int) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._waiting_changed, -len(group))  # taken
        started = time.perf_counter()
        try:
            written = self._write_many([batch for batch, _ in group])
        except Exception as exc:
            self._loop.call_soon_threadsafe(self._failed, group, exc)
            return
        # Refused ids (another device's) are neither stored nor acknowledged duplicates.
        refused_events = sum(
            1
            for (batch, _), ids in zip(group, written.refused, strict=True)
            if ids
            for event in batch.events
            if event.event_id in ids
        )
        seconds = time.perf_counter() - started
        # Events of erased devices are acknowledged, yet neither new nor duplicates.
        stored = events - refused_events - written.erased
        self._loop.call_soon_threadsafe(self._committed, group, written, stored, seconds)

    def _committed(
        self, group: list[_Item], written: GroupWritten, events: int, seconds: float
    ) -> None:
        """On the event loop: one call answers every batch of a committed group."""
        self._observe(len(group), events, written.new, seconds)
        for (_, future), ids in zip(group, written.refused, strict=True):
            if not future.done():
                future.set_result(ids)

    def _failed(self, group: list[_Item], exc: Exception) -> None:
        for _, future in group:
            if not future.done():
                future.set_exception(exc)
