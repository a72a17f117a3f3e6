"""Events waiting for the collector's acknowledgement, kept in durable storage.

An event enters before it is sent and leaves only when the collector has acknowledged it (or
refused it for good), so a reload, a closed tab or a dead network loses nothing: the next page of
the site sends what is left. Each tab keeps its own entry (two tabs never overwrite each other's
events); a page adopts the entries of tabs that are gone. The collector's dedupe by event_id makes
a second sending of the same event harmless.

Events are kept as their JSON text, encoded once: saving the outbox and building a request are
string joins, so their cost does not grow with the work of encoding (docs/delivery.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ports import Clock, Console, KeyValueStore

    # [event_id, timestamp in epoch ms, the event as JSON text]: a list, so it stores as JSON.
    Entry = list[object]

KEY_PREFIX = "allegro_outbox:"
MAX_EVENTS = 1000
MAX_BYTES = 512 * 1024
MAX_AGE_MS = 7 * 24 * 3600 * 1000


class Outbox:
    def __init__(
        self,
        store: KeyValueStore,
        tab_id: str,
        clock: Clock,
        console: Console,
        max_events: int = MAX_EVENTS,
        max_bytes: int = MAX_BYTES,
        max_age_ms: int = MAX_AGE_MS,
    ) -> None:
        self._store = store
        self._key = KEY_PREFIX + tab_id
        self._clock = clock
        self._console = console
        self._limits = (max_events, max_bytes, max_age_ms)
        self._entries: list[Entry] = []
        self._bytes = 0
        self.dropped = 0
        self._storage_broken = False
        self._adopt_others()

    def entries(self) -> list[Entry]:
        """Waiting events, oldest first."""
        return list(self._entries)

    def add(self, event_id: str, timestamp: int, text: str) -> None:
        """Keep an event (in memory until save(): the sender saves before it sends)."""
        self._entries.append([event_id, timestamp, text])
        self._bytes += len(text)
        self._enforce_limits()

    def save(self) -> None:
        try:
            if self._entries:
                self._store.save(self._key, self._entries)
            else:
                self._store.remove(self._key)
        except Exception:
            self._note_storage_failure()

    def remove(self, event_ids: set[str]) -> None:
        if not event_ids:
            return
        kept = [entry for entry in self._entries if entry[0] not in event_ids]
        self._bytes -= sum(len(str(entry[2])) for entry in self._entries if entry[0] in event_ids)
        self._entries = kept
        self.save()

    def _adopt_others(self) -> None:
        """Take over what earlier pages (and tabs since closed) left unsent."""
        adopted: list[Entry] = []
        try:
            for key in self._store.stored_keys():
                if key.startswith(KEY_PREFIX) and key != self._key:
                    stored = self._store.load(key)
                    if isinstance(stored, list):
                        adopted.extend(entry for entry in stored if is_entry(entry))
                    self._store.remove(key)
        except Exception:
            self._note_storage_failure()
            return
        seen: set[object] = set()
        for entry in sorted(adopted, key=lambda entry: int(str(entry[1]))):
            if entry[0] not in seen:
                seen.add(entry[0])
                self._entries.append(entry)
                self._bytes += len(str(entry[2]))
        if adopted:
            self._enforce_limits()
            self.save()

    def _enforce_limits(self) -> None:
        max_events, max_bytes, max_age_ms = self._limits
        oldest_allowed = self._clock() - max_age_ms
        dropped = 0
        while self._entries and (
            len(self._entries) > max_events
            or self._bytes > max_bytes
            or int(str(self._entries[0][1])) < oldest_allowed
        ):
            self._bytes -= len(str(self._entries.pop(0)[2]))
            dropped += 1
        if dropped:
            if not self.dropped:
                self._console.warn(
                    "the outbox of unsent events is full (or they are too old): the oldest are "
                    "dropped; is the collector reachable?"
                )
            self.dropped += dropped

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
