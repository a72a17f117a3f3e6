"""The outbox: bounded, durable where storage works, harmless where it does not, and each entry
saved and sent by one live tab at a time (the lock named after it)."""

from __future__ import annotations

from allegro_sdk.core.outbox import ADOPT_RETRY_MS, Outbox

from .fakes import FAKE_NOW, Clock, FakeConsole, FakeLocks, FakeStore, FakeTimers

DAY_MS = 24 * 3600 * 1000


def add(outbox: Outbox, event_id: str, timestamp: int = FAKE_NOW, size: int = 0) -> None:
    outbox.add(event_id, timestamp, '{"event_id":"' + event_id + '","pad":"' + "x" * size + '"}')


def ids(outbox: Outbox) -> list[object]:
    return [entry[0] for entry in outbox.entries()]


def make(
    store: FakeStore | None = None,
    console: FakeConsole | None = None,
    locks: FakeLocks | None = None,
    timers: FakeTimers | None = None,
    tab: str = "t",
    **limits: int,
) -> Outbox:
    return Outbox(
        store or FakeStore(),
        tab,
        Clock(FAKE_NOW),
        console or FakeConsole(),
        locks or FakeLocks(),
        timers or FakeTimers(),
        **limits,
    )


def test_the_oldest_go_first_when_the_count_is_over_the_bound_and_the_console_says_so_once() -> (
    None
):
    console = FakeConsole()
    outbox = make(console=console, max_events=3)
    for number in range(5):
        add(outbox, f"e{number}")
    assert ids(outbox) == ["e2", "e3", "e4"]
    assert outbox.dropped == 2 and len(console.warnings) == 1


def test_the_byte_bound_and_the_age_bound() -> None:
    outbox = make(max_bytes=3000)
    for number in range(4):
        add(outbox, f"e{number}", size=1000)
    assert ids(outbox) == ["e2", "e3"]
    outbox.remove({"e2"})
    add(outbox, "e4", size=1000)
    assert ids(outbox) == ["e3", "e4"]  # the byte count followed the removal
    aged = make(max_age_ms=DAY_MS)
    add(aged, "old", timestamp=FAKE_NOW - 2 * DAY_MS)
    add(aged, "new")
    assert ids(aged) == ["new"]


def test_saved_under_the_tabs_own_key_while_it_holds_its_lock_and_removed_when_empty() -> None:
    store, locks = FakeStore(), FakeLocks(manual=True)
    outbox = make(store, locks=locks, tab="tab-a")
    add(outbox, "a")
    outbox.save()
    assert store.values == {}  # kept in memory until the tab holds the lock on its key
    held: list[str] = []
    assert not outbox.claim(lambda: held.append("then"))
    assert not outbox.claim(lambda: held.append("again"))  # asked once
    assert len(locks.pending) == 1
    locks.grant()
    assert held == ["then", "again"] and locks.held == {"allegro_outbox:tab-a"}
    assert store.values == {"allegro_outbox:tab-a": [["a", FAKE_NOW, '{"event_id":"a","pad":""}']]}
    assert outbox.claim(lambda: held.append("not called"))
    outbox.remove({"a"})
    assert store.values == {}
    assert locks.held == set()  # an idle page holds no lock (it may enter the bfcache)


def test_a_page_going_away_without_its_lock_still_keeps_its_events() -> None:
    store = FakeStore()
    outbox = make(store, locks=FakeLocks(manual=True), tab="tab-a")
    add(outbox, "a")
    outbox.save(unheld=True)
    assert list(store.values) == ["allegro_outbox:tab-a"]


def test_broken_storage_never_raises_and_is_reported_once() -> None:
    console = FakeConsole()
    outbox = make(FakeStore(broken=True), console)
    outbox.adopt(lambda: None)
    add(outbox, "a")
    assert outbox.claim(lambda: None)  # the lock guards nothing here, but sending goes on
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
    outbox = make(store, tab="me")
    add(outbox, "mine", timestamp=FAKE_NOW - 7)
    adopted: list[str] = []
    outbox.adopt(lambda: adopted.append("then"))
    assert ids(outbox) == ["a", "mine", "b"]
    assert set(store.values) == {"other", "allegro_outbox:me"}
    assert adopted == ["then", "then"]


def test_the_entry_of_a_live_tab_is_left_to_it_and_tried_again_later() -> None:
    live = "allegro_outbox:live"
    store = FakeStore({live: [["x", FAKE_NOW, "{}"]]})
    locks, timers = FakeLocks(others=(live,)), FakeTimers()
    outbox = make(store, locks=locks, timers=timers, tab="me")
    outbox.adopt(lambda: None)
    assert ids(outbox) == [] and live in store.values
    assert timers.delays() == [ADOPT_RETRY_MS]
    locks.others.clear()  # that tab was closed
    timers.advance(ADOPT_RETRY_MS)
    assert ids(outbox) == ["x"] and list(store.values) == ["allegro_outbox:me"]
    assert timers.delays() == []


def test_an_adopted_entry_is_removed_only_once_its_events_are_saved_under_this_tabs_key() -> None:
    gone = "allegro_outbox:gone"
    store = FakeStore({gone: [["x", FAKE_NOW, "{}"]]})
    locks = FakeLocks(manual=True)
    outbox = make(store, locks=locks, tab="me")
    outbox.adopt(lambda: None)
    assert ids(outbox) == ["x"]
    assert list(store.values) == [gone] and locks.held == {gone}  # no other tab can take it
    locks.grant()
    assert list(store.values) == ["allegro_outbox:me"] and locks.held == {"allegro_outbox:me"}


def test_an_entry_emptied_meanwhile_gives_back_both_locks() -> None:
    gone = "allegro_outbox:gone"
    store = FakeStore({gone: "junk"})
    locks = FakeLocks()
    outbox = make(store, locks=locks, tab="me")
    outbox.adopt(lambda: None)
    assert ids(outbox) == [] and store.values == {} and locks.held == set()


def test_an_entry_saved_again_by_its_leaving_tab_after_adoption_is_merged_not_lost() -> None:
    """B takes A's lock as A's entry empties; A tracks an event, its own lock request queues
    behind B's, and A leaves, saving its entry unheld; B's save must not drop that event."""
    a_key = "allegro_outbox:a"
    store, b_locks = FakeStore({a_key: []}), FakeLocks(manual=True)
    b = make(store, locks=b_locks, tab="b")
    b.adopt(lambda: None)  # A's lock is free for a moment; B's own lock is not granted yet
    assert ids(b) == [] and b_locks.held == {a_key}
    a = make(store, locks=FakeLocks(manual=True), tab="a")
    add(a, "late")
    a.save(unheld=True)  # A leaves before its lock comes
    b_locks.grant()
    assert ids(b) == ["late"]
    assert list(store.values) == ["allegro_outbox:b"]
    assert [e[0] for e in store.values["allegro_outbox:b"]] == ["late"]  # type: ignore[union-attr]
    assert b_locks.held == {"allegro_outbox:b"}
