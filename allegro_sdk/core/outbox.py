"""Events waiting for the collector's acknowledgement, kept in durable storage.

An event enters before it is sent and leaves only when the collector has acknowledged it (or
refused it for good), so a reload, a closed tab or a dead network loses nothing: the next page of
the site sends what is left. Each tab keeps its own entry (two tabs never overwrite each other's
events), and holds the lock named after it for as long as it has events there: one live tab at a
time saves and sends an entry. A tab adopts the entries whose lock is free (their tab is gone)
and removes them once their events are saved under its own entry. An idle tab holds no lock, so
the page stays eligible for the back/forward cache (docs/delivery.md, "Tabs").

Events are kept as their JSON text, encoded once: saving the outbox and building a request are
string joins, so their cost does not grow with the work of encoding (docs/delivery.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import Clock, Console, KeyValueStore, Locks, Schedule

    # [event_id, timestamp in epoch ms, the event as JSON text]: a list, so it stores as JSON.
    Entry = list[object]

KEY_PREFIX = "allegro_outbox:"
MAX_EVENTS = 1000
MAX_BYTES = 512 * 1024
MAX_AGE_MS = 7 * 24 * 3600 * 1000
ADOPT_RETRY_MS = 10_000  # while another tab holds an entry (or its lease has not lapsed)

# This tab's hold on the lock named after its entry (named constants: the SDK imports no enum).
UNHELD = "unheld"
ASKED = "asked"  # asked for, not granted yet
HELD = "held"


class Outbox:
    def __init__(
        self,
        store: KeyValueStore,
        tab_id: str,
        clock: Clock,
        console: Console,
        locks: Locks,
        schedule: Schedule,
        max_events: int = MAX_EVENTS,
        max_bytes: int = MAX_BYTES,
        max_age_ms: int = MAX_AGE_MS,
        on_drop: Callable[[list[str]], None] | None = None,
    ) -> None:
        self._store = store
        self._key = KEY_PREFIX + tab_id
        self._clock = clock
        self._console = console
        self._locks = locks
        self._schedule = schedule
        self._limits = (max_events, max_bytes, max_age_ms)
        self._entries: list[Entry] = []
        self._bytes = 0
        self.dropped = 0
        # Told the ids of events dropped to keep the bounds (their promises reject).
        self._on_drop = on_drop
        self._storage_broken = False
        self._lock = UNHELD
        self._when_held: list[Callable[[], None]] = []
        self._adopted: list[str] = []  # other tabs' keys held, removed once saved under ours
        self._retry_planned = False

    def entries(self) -> list[Entry]:
        """Waiting events, oldest first."""
        return list(self._entries)

    def add(self, event_id: str, timestamp: int, text: str) -> None:
        """Keep an event (in memory until save(): the sender saves before it sends)."""
        self._entries.append([event_id, timestamp, text])
        self._bytes += len(text)
        self._enforce_limits()

    def claim(self, then: Callable[[], None]) -> bool:
        """True if this tab holds its entry's lock; else asks for it and calls `then` once held."""
        if self._lock == UNHELD:
            self._lock = ASKED
            self._locks.hold(self._key, self._granted)  # may be granted at once (leases)
        if self._lock != HELD:
            self._when_held.append(then)
        return self._lock == HELD

    def save(self, unheld: bool = False) -> None:
        """Write this tab's entry, if it holds its lock (or `unheld`: a page going away)."""
        if self._lock != HELD and not unheld:
            return
        for key in self._adopted:
            # Loaded again just before it goes: its tab may have saved it since we took it (a
            # page left before its own lock, queued behind ours, came).
            self._merge(key)
        try:
            if self._entries:
                self._store.save(self._key, self._entries)
            else:
                self._store.remove(self._key)
            for key in self._adopted:
                self._store.remove(key)
        except Exception:
            self._note_storage_failure()
        for key in self._adopted:
            self._locks.release(key)
        self._adopted = []
        if self._lock == HELD and not self._entries:
            # Nothing left to guard: an idle page holds no lock.
            self._lock = UNHELD
            self._locks.release(self._key)

    def remove(self, event_ids: set[str]) -> None:
        if not event_ids:
            return
        kept = [entry for entry in self._entries if entry[0] not in event_ids]
        self._bytes -= sum(len(str(entry[2])) for entry in self._entries if entry[0] in event_ids)
        self._entries = kept
        self.save()

    def adopt(self, then: Callable[[], None]) -> None:
        """Take over the entries of tabs that are gone (a free lock); `then` once some are held."""
        self._retry_planned = False
        try:
            keys = [
                key
                for key in self._store.stored_keys()
                if key.startswith(KEY_PREFIX) and key != self._key and key not in self._adopted
            ]
        except Exception:
            self._note_storage_failure()
            return
        for key in keys:
            self._try_to_take(key, then)

    def _try_to_take(self, key: str, then: Callable[[], None]) -> None:
        self._locks.take_if_free(key, lambda taken: self._take(key, taken, then))

    def _take(self, key: str, taken: bool, then: Callable[[], None]) -> None:
        if not taken:
            if not self._retry_planned:
                self._retry_planned = True
                self._schedule(ADOPT_RETRY_MS, lambda: self.adopt(then))
            return
        self._merge(key)
        # Removed (and its lock released) once its events are saved under this tab's key.
        self._adopted.append(key)
        if self.claim(then):
            self.save()
            then()

    def _merge(self, key: str) -> None:
        """Add the events stored under `key` that this outbox does not have yet."""
        try:
            stored = self._store.load(key)
        except Exception:
            stored = None
        known = {entry[0] for entry in self._entries}
        adopted = [e for e in stored if is_entry(e)] if isinstance(stored, list) else []
        for entry in adopted:
            if entry[0] not in known:
                known.add(entry[0])
                self._entries.append(entry)
                self._bytes += len(str(entry[2]))
        self._entries.sort(key=lambda entry: int(str(entry[1])))
        self._enforce_limits()

    def _enforce_limits(self) -> None:
        max_events, max_bytes, max_age_ms = self._limits
        oldest_allowed = self._clock() - max_age_ms
        dropped: list[str] = []
        while self._entries and (
            len(self._entries) > max_events
            or self._bytes > max_bytes
            or int(str(self._entries[0][1])) < oldest_allowed
        ):
            entry = self._entries.pop(0)
            self._bytes -= len(str(entry[2]))
            dropped.append(str(entry[0]))
        if dropped:
            if self._on_drop is not None:
                self._on_drop(dropped)
            if not self.dropped:
                self._console.warn(
                    "the outbox of unsent events is full (or they are too old): the oldest are "
                    "dropped; is the collector reachable?"
                )
            self.dropped += len(dropped)

    def _granted(self) -> None:
        self._lock = HELD
        self.save()  # adopted entries move under this tab's key (or the lock goes back at once)
        waiting, self._when_held = self._when_held, []
        for then in waiting:
            then()

    def _note_storage_failure(self) -> None:
        if not self._storage_broken:
            self._storage_broken = True
            self._console.warn(
                "events cannot be kept in localStorage here: unsent events last only as long "
                "as the page"
            )


def is_entry(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
        and isinstance(value[2], str)
        and value[2].startswith("{")
    )
