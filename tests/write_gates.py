"""A write gate for tests: hold the collector's batch writes, to pile them up deterministically."""

from __future__ import annotations

import threading


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
