"""Deleting what is no longer needed, a little at a time, on a timer.

A `Sweep` deletes at most `limit` rows in one short transaction and says how many it deleted;
`Sweeper` runs each of its sweeps every `interval_seconds`, again and again while a sweep keeps
finding a full batch, handing the database back between batches so event writes never wait long.
Expiring idle sessions is the first sweep; a retention period for events is another sweep of the
same shape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from allegro_collector.clock import Clock
from allegro_collector.store import StoreUnavailableError

logger = logging.getLogger("allegro_collector")

BATCH_ROWS = 500


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[int, int], int]  # (now_ms, limit) -> rows deleted, in one transaction


class Sweeper:
    def __init__(self, sweeps: list[Sweep], clock: Clock, interval_seconds: float) -> None:
        self.sweeps = sweeps
        self.clock = clock
        self.interval_seconds = interval_seconds

    async def sweep_once(self) -> dict[str, int]:
        """Run every sweep until it finds less than a full batch; rows deleted per sweep."""
        deleted: dict[str, int] = {}
        for sweep in self.sweeps:
            total = 0
            while True:
                count = await run_in_threadpool(sweep.run, self.clock(), BATCH_ROWS)
                total += count
                if count < BATCH_ROWS:
                    break
                await asyncio.sleep(0)  # let waiting requests in between batches
            deleted[sweep.name] = total
        return deleted

    async def run_forever(self) -> None:
        while True:
            try:
                deleted = await self.sweep_once()
            except StoreUnavailableError as exc:
                logger.warning(
                    "retention sweep skipped, tried again in %ss: %s", self.interval_seconds, exc
                )
            else:
                for name, count in deleted.items():
                    if count:
                        logger.info("retention: %s deleted %d", name, count)
            await asyncio.sleep(self.interval_seconds)
