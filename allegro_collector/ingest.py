"""The bounded ingest path in front of the store's writer, and the write gate seam.

At most `max_pending_batches` event batches are in the collector at once: being read, validated,
waiting for the group commit or being written. A request that finds the bound reached waits up
to `hold_seconds` for a place, then is refused (503 with `Retry-After`), its body never read or
parsed, so refusing costs next to nothing and an overloaded collector spends its time on the
batches it took. Nothing is acknowledged that has not been committed. The bound is per process.

`WriteGate` is a seam, not an endpoint: `create_app(settings, write_gate=gate)` makes every
group write (`group_commit`) call `gate()` in the writer thread just before it writes. The
production gate, `always_open`, does nothing; tests pass gates that hold writes or make them fail.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from allegro_collector.errors import ApiError

WriteGate = Callable[[], None]
"""Called in the worker thread before each batch write; may block (hold it) or raise (fail it)."""


def always_open() -> None:
    """The production gate: every write goes straight through."""


class IngestQueue:
    """Counts the batches in the collector; a request finding the bound reached waits a little
    for a place (first come, first served), then is refused.

    The wait (`hold_seconds`, at most the Retry-After a refusal carries) happens before the body
    is read and costs a sleeping coroutine, no CPU: a client that retries the moment it is
    refused cannot make the refusals themselves the collector's work. A well-behaved client
    waits Retry-After after a 503 anyway. Used only on the event loop (no await between a check
    and the count's change), so plain counters are enough.
    """

    def __init__(
        self,
        max_pending: int,
        retry_after_seconds: int,
        on_refused: Callable[[], object] = lambda: None,
        *,
        hold_seconds: float = 0.0,
    ) -> None:
        self.max_pending = max_pending
        self.retry_after_seconds = retry_after_seconds
        self.hold_seconds = hold_seconds
        self._on_refused = on_refused
        self._pending = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.done())

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one place from before the body is read until the answer: `enter`, then `leave`
        on every exit (commit, exception, or cancellation)."""
        await self.enter()
        try:
            yield
        finally:
            self.leave()

    async def enter(self) -> None:
        """Take a place; raise a 503 ApiError when none frees up within `hold_seconds`. Every
        return must be followed by one `leave()`, however the request ends."""
        if self._pending < self.max_pending and not self._waiters:
            self._pending += 1
            return
        if self._pending < self.max_pending and not self.waiting:
            self._waiters.clear()  # only abandoned waits were left
            self._pending += 1
            return
        if self.hold_seconds > 0:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, self.hold_seconds)
                return  # handed a place by leave()
            except TimeoutError:
                pass
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self.leave()  # handed a place just as this request went away
                raise
        self._on_refused()
        raise ApiError(
            503,
            f"the collector is busy: {self.max_pending} batches are already being stored; "
            "nothing of this batch was stored, retry later",
            None,
            {"Retry-After": str(self.retry_after_seconds)},
        )

    def leave(self) -> None:
        """Give the place back: to the first request waiting for one, else to the count."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place goes to the first one waiting
                return
        self._pending -= 1
