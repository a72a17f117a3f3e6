"""Deleting what is no longer needed, a little at a time, on a timer.

A `Sweep` deletes at most `limit` rows in one short transaction and says how many it deleted;
`Sweeper` runs each of its sweeps every `interval_seconds`, again and again while a sweep keeps
finding a full batch, handing the database back between batches so event writes never wait long.
`sweeps` makes the collector's three, all run by the one `Sweeper`:

- expired sessions: sessions idle or ended (logout, login rotation) for `expired_session_keep_ms`
  (an hour), or for the retention period when that is shorter;
- old events (with a retention period, `--retention-days`): events received before it;
- past erasures: the marks of erased devices (`DELETE /v1/devices/{id}`) whose erasure window
  has passed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from allegro_collector.clock import Clock
from allegro_collector.settings import Settings
from allegro_collector.store import Store, StoreUnavailableError

logger = logging.getLogger("allegro_collector")

BATCH_ROWS = 500


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[int, int], int]  # (now_ms, limit) -> rows deleted, in one transaction


def sweeps(settings: Settings, store: Store) -> list[Sweep]:
    """What the collector deletes on its own: see the module's docstring."""
    retention = settings.event_retention_ms
    session_keep = settings.expired_session_keep_ms
    if retention is not None:
        session_keep = min(session_keep, retention)
    found = [
        Sweep(
            "expired sessions",
            lambda now, limit: store.expire_sessions(now, session_keep, limit),
        ),
        Sweep(
            "past erasures",
            lambda now, limit: store.forget_erasures_before(
                now - settings.erasure_window_ms, limit
            ),
        ),
    ]
    if retention is not None:
        found.append(
            Sweep(
                "events past retention",
                lambda now, limit: store.delete_events_received_before(now - retention, limit),
            )
        )
    return found


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
