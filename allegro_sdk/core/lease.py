"""Locks as leases in storage, for browsers without Web Locks (docs/delivery.md, "Tabs").

A lease is `[owner tab id, expiry in epoch ms]` under `allegro_lease:<name>`, renewed while held
and removed on release; a tab that is gone stops renewing, and its lease lapses. localStorage has
no compare-and-set, so a tab taking a free lease writes it, then reads it back a moment later:
of two tabs racing, the last writer wins and the other sees it. This is best effort; the
collector's dedupe by event_id stays the final guarantee.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import Clock, KeyValueStore, Schedule

LEASE_PREFIX = "allegro_lease:"
# Longer than Chrome's throttling of timers in hidden tabs (one wake-up a minute at worst).
LEASE_MS = 90_000
RENEW_MS = 15_000
SETTLE_MS = 50  # from writing a lease to reading it back


class LeaseLocks:
    def __init__(self, store: KeyValueStore, owner: str, clock: Clock, schedule: Schedule) -> None:
        self._store = store
        self._owner = owner
        self._clock = clock
        self._schedule = schedule
        self._held: set[str] = set()
        # Names with a renewal timer pending: one chain each, however often held and released.
        self._renewing: set[str] = set()

    def hold(self, name: str, held: Callable[[], None]) -> None:
        # Nobody else asks for this name while its lease is fresh: no need to read it back.
        self._held.add(name)
        self._renew(name)
        held()

    def take_if_free(self, name: str, answer: Callable[[bool], None]) -> None:
        owner, expiry = self._lease(name)
        if name in self._held or (owner != self._owner and expiry > self._clock()):
            answer(False)
            return
        self._write(name, [self._owner, self._clock() + LEASE_MS])

        def read_back() -> None:
            if self._lease(name)[0] == self._owner:
                self.hold(name, lambda: answer(True))
            else:
                answer(False)

        self._schedule(SETTLE_MS, read_back)

    def release(self, name: str) -> None:
        if name in self._held:
            self._held.discard(name)
            if self._lease(name)[0] == self._owner:
                self._write(name, None)

    def _renew(self, name: str, timer: bool = False) -> None:
        """Write the lease; a released name's chain ends when its timer next fires."""
        if timer:
            self._renewing.discard(name)
        if name in self._held:
            self._write(name, [self._owner, self._clock() + LEASE_MS])
            if name not in self._renewing:
                self._renewing.add(name)
                self._schedule(RENEW_MS, lambda: self._renew(name, True))

    def _lease(self, name: str) -> tuple[object, int]:
        """(owner, expiry); where storage is broken there is nothing to guard: this tab's."""
        try:
            lease = self._store.load(LEASE_PREFIX + name)
        except Exception:
            return self._owner, 0
        if isinstance(lease, list) and len(lease) == 2 and isinstance(lease[1], int):
            return lease[0], lease[1]
        return None, 0

    def _write(self, name: str, lease: list[object] | None) -> None:
        try:
            if lease:
                self._store.save(LEASE_PREFIX + name, lease)
            else:
                self._store.remove(LEASE_PREFIX + name)
        except Exception:
            return  # storage is broken: there is nothing to guard
