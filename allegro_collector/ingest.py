"""The bounded ingest path in front of the store's writer, and the write gate seam.

At most `max_pending_batches` event batches are in the collector at once: being read, validated,
waiting for the group commit or being written. A request that finds the bound reached is refused
at once (503 with `Retry-After`) before its body is read or parsed, so refusing costs next to
nothing and an overloaded collector spends its time on the batches it took. Nothing is
acknowledged that has not been committed. The bound is per process.

`WriteGate` is a seam, not an endpoint: `create_app(settings, write_gate=gate)` makes every
group write (`group_commit`) call `gate()` in the writer thread just before it writes. The
production gate, `always_open`, does nothing; tests pass gates that hold writes or make them fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from allegro_collector.errors import ApiError

WriteGate = Callable[[], None]
"""Called in the worker thread before each batch write; may block (hold it) or raise (fail it)."""


def always_open() -> None:
    """The production gate: every write goes straight through."""


class IngestQueue:
    """Counts the batches in the collector; refuses a request when the bound is reached.

    Checked and updated only on the event loop (no await between check and increment), so a
    plain counter is enough; it never waits.
    """

    def __init__(
        self,
        max_pending: int,
        retry_after_seconds: int,
        on_refused: Callable[[], object] = lambda: None,
    ) -> None:
        self.max_pending = max_pending
        self.retry_after_seconds = retry_after_seconds
        self._on_refused = on_refused
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one place from before the body is read until the answer; raise a 503 ApiError
        when none is free.

        The place is given back on every exit: commit, exception, or cancellation.
        """
        if self._pending >= self.max_pending:
            self._on_refused()
            raise ApiError(
                503,
                f"the collector is busy: {self.max_pending} batches are already being stored; "
                "nothing of this batch was stored, retry later",
                None,
                # The body was not read: the connection cannot carry another request.
                {"Retry-After": str(self.retry_after_seconds), "Connection": "close"},
            )
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1
