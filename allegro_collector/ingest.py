"""The bounded ingest path in front of the SQLite writer, and the write gate tests hold shut.

At most `max_pending_batches` event batches are waiting for or being written at once. A batch
that finds the bound reached is refused at once (503 with `Retry-After`) instead of queueing:
an acknowledgement means committed, so nothing is acknowledged that has not been written.

`WriteGate` is a test seam, not an endpoint: `create_app(settings, write_gate=gate)` makes every
batch write call `gate()` in its worker thread just before it writes. The production gate,
`always_open`, does nothing. `HeldGate` holds batches while it is closed, so tests can pile them
up deterministically; any callable that raises makes the write fail as a storage failure would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from allegro_collector.errors import ApiError

WriteGate = Callable[[], None]
"""Called in the worker thread before each batch write; may block (hold it) or raise (fail it)."""


def always_open() -> None:
    """The production gate: every write goes straight through."""


class IngestQueue:
    """Counts the batches waiting for or being written; refuses a batch when the bound is reached.

    Checked and updated only on the event loop (no await between check and increment), so a
    plain counter is enough; it never waits.
    """

    def __init__(self, max_pending: int, retry_after_seconds: int) -> None:
        self.max_pending = max_pending
        self.retry_after_seconds = retry_after_seconds
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one place for the duration of a write; raise a 503 ApiError when none is free.

        The place is given back on every exit: commit, exception, or cancellation.
        """
        if self._pending >= self.max_pending:
            raise ApiError(
                503,
                f"the collector is busy: {self.max_pending} batches are already being written; "
                "nothing of this batch was stored, retry later",
                None,
                {"Retry-After": str(self.retry_after_seconds)},
            )
        self._pending += 1
        try:
            yield
        finally:
            self._pending -= 1


class HeldGate:
    """A `WriteGate` for tests: while closed, batch writes wait in their worker threads.

    Thread-safe: the collector runs it in worker threads while a test thread opens, closes and
    watches it. A closed gate must be opened before the collector shuts down, or the waiting
    writes (and so the shutdown) never finish.
    """

    def __init__(self, *, closed: bool = False) -> None:
        self._condition = threading.Condition()
        self._closed = closed
        self._waiting = 0

    def __call__(self) -> None:
        with self._condition:
            self._waiting += 1
            self._condition.notify_all()
            try:
                self._condition.wait_for(lambda: not self._closed)
            finally:
                self._waiting -= 1
                self._condition.notify_all()

    def close(self) -> None:
        """Hold every batch write that reaches the gate from now on."""
        with self._condition:
            self._closed = True

    def open(self) -> None:
        """Let the held writes and all later ones through."""
        with self._condition:
            self._closed = False
            self._condition.notify_all()

    @property
    def waiting(self) -> int:
        """How many batch writes are held at the gate right now."""
        with self._condition:
            return self._waiting

    def wait_for_waiting(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least `count` writes are held; False if `timeout` seconds pass first."""
        with self._condition:
            return self._condition.wait_for(lambda: self._waiting >= count, timeout)
