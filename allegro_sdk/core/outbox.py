"""Events waiting for the collector's acknowledgement, kept in durable storage.

An event enters before it is sent and leaves only when the collector has acknowledged it (or
refused it for good), so a reload, a closed tab or a dead network loses nothing: the next page of
the site sends what is left. Each tab keeps its own entry (two tabs never overwrite each other's
events); a page adopts the entries of tabs that are gone. The collector's dedupe by event_id makes
a second sending of the same event harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .json_encoding import encode

if TYPE_CHECKING:
    from .ports import Clock, Console, KeyValueStore

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
        self._events: list[dict[str, object]] = []
        self._sizes: dict[str, int] = {}
        self.dropped = 0
        self._storage_broken = False
        self._adopt_others()

    def events(self) -> list[dict[str, object]]:
        """Waiting events, oldest first."""
        return list(self._events)

    def add(self, event: dict[str, object]) -> None:
        """Keep an event (in memory until save(): the sender saves before it sends)."""
        self._events.append(event)
        self._sizes[str(event["event_id"])] = len(encode(event))
        self._enforce_limits()

    def save(self) -> None:
        self._persist()

    def remove(self, event_ids: set[str]) -> None:
        if not event_ids:
            return
        self._events = [e for e in self._events if str(e["event_id"]) not in event_ids]
        for event_id in event_ids:
            self._sizes.pop(event_id, None)
        self._persist()

    def _adopt_others(self) -> None:
        """Take over what earlier pages (and tabs since closed) left unsent."""
        adopted: list[dict[str, object]] = []
        try:
            for key in self._store.stored_keys():
                if key.startswith(KEY_PREFIX) and key != self._key:
                    stored = self._store.load(key)
                    if isinstance(stored, list):
                        adopted.extend(e for e in stored if is_event(e))
                    self._store.remove(key)
        except Exception:
            self._note_storage_failure()
            return
        seen: set[str] = set()
        for event in sorted(adopted, key=timestamp_of):
            event_id = str(event["event_id"])
            if event_id not in seen:
                seen.add(event_id)
                self._events.append(event)
                self._sizes[event_id] = len(encode(event))
        if adopted:
            self._enforce_limits()
            self._persist()

    def _enforce_limits(self) -> None:
        max_events, max_bytes, max_age_ms = self._limits
        oldest_allowed = self._clock() - max_age_ms
        before = len(self._events)
        self._events = [e for e in self._events if timestamp_of(e) >= oldest_allowed]
        while len(self._events) > max_events or (
            self._events and sum(self._size(e) for e in self._events) > max_bytes
        ):
            self._events.pop(0)
        dropped = before - len(self._events)
        if dropped:
            if not self.dropped:
                self._console.warn(
                    "the outbox of unsent events is full (or they are too old): the oldest are "
                    "dropped; is the collector reachable?"
                )
            self.dropped += dropped
            kept = {str(e["event_id"]) for e in self._events}
            self._sizes = {k: v for k, v in self._sizes.items() if k in kept}

    def _size(self, event: dict[str, object]) -> int:
        return self._sizes.get(str(event["event_id"]), 0)

    def _persist(self) -> None:
        try:
            if self._events:
                self._store.save(self._key, self._events)
            else:
                self._store.remove(self._key)
        except Exception:
            self._note_storage_failure()

    def _note_storage_failure(self) -> None:
        if not self._storage_broken:
            self._storage_broken = True
            self._console.warn(
                "events cannot be kept in localStorage here: unsent events last only as long "
                "as the page"
            )


def is_event(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("event_id"), str)


def timestamp_of(event: dict[str, object]) -> int:
    value = event.get("timestamp")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
