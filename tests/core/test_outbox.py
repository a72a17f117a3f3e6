"""The outbox: bounded, durable where storage works, and harmless where it does not."""

from __future__ import annotations

from allegro_sdk.core.outbox import Outbox

from .fakes import FAKE_NOW, Clock, FakeConsole, FakeStore

DAY_MS = 24 * 3600 * 1000


def add(outbox: Outbox, event_id: str, timestamp: int = FAKE_NOW, size: int = 0) -> None:
    outbox.add(event_id, timestamp, '{"event_id":"' + event_id + '","pad":"' + "x" * size + '"}')


def ids(outbox: Outbox) -> list[object]:
    return [entry[0] for entry in outbox.entries()]


def test_the_oldest_go_first_when_the_count_is_over_the_bound_and_the_console_says_so_once() -> (
    None
):
    console = FakeConsole()
    outbox = Outbox(FakeStore(), "t", Clock(FAKE_NOW), console, max_events=3)
    for number in range(5):
        add(outbox, f"e{number}")
    assert ids(outbox) == ["e2", "e3", "e4"]
    assert outbox.dropped == 2 and len(console.warnings) == 1


def test_the_byte_bound_and_the_age_bound() -> None:
    outbox = Outbox(FakeStore(), "t", Clock(FAKE_NOW), FakeConsole(), max_bytes=3000)
    for number in range(4):
        add(outbox, f"e{number}", size=1000)
    assert ids(outbox) == ["e2", "e3"]
    outbox.remove({"e2"})
    add(outbox, "e4", size=1000)
    assert ids(outbox) == ["e3", "e4"]  # the byte count followed the removal
    aged = Outbox(FakeStore(), "t", Clock(FAKE_NOW), FakeConsole(), max_age_ms=DAY_MS)
    add(aged, "old", timestamp=FAKE_NOW - 2 * DAY_MS)
    add(aged, "new")
    assert ids(aged) == ["new"]


def test_saved_under_the_tabs_own_key_and_removed_when_empty() -> None:
    store = FakeStore()
    outbox = Outbox(store, "tab-a", Clock(FAKE_NOW), FakeConsole())
    add(outbox, "a")
    assert store.values == {}  # kept in memory until the sender saves, just before sending
    outbox.save()
    assert store.values == {"allegro_outbox:tab-a": [["a", FAKE_NOW, '{"event_id":"a","pad":""}']]}
    outbox.remove({"a"})
    assert store.values == {}


def test_broken_storage_never_raises_and_is_reported_once() -> None:
    console = FakeConsole()
    outbox = Outbox(FakeStore(broken=True), "t", Clock(FAKE_NOW), console)
    add(outbox, "a")
    outbox.save()
    outbox.remove({"a"})
    assert ids(outbox) == [] and len(console.warnings) == 1


def test_other_tabs_events_are_adopted_once_each_in_time_order() -> None:
    store = FakeStore(
        {
            "allegro_outbox:x": [["b", FAKE_NOW - 5, "{}"], ["a", FAKE_NOW - 9, "{}"]],
            "allegro_outbox:y": [["a", FAKE_NOW - 9, "{}"], "junk", ["c", "x", "{}"], ["d", 1]],
            "other": "kept",
        }
    )
    outbox = Outbox(store, "me", Clock(FAKE_NOW), FakeConsole())
    assert ids(outbox) == ["a", "b"]
    assert set(store.values) == {"other", "allegro_outbox:me"}
