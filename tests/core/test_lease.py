"""Leases in storage, the locks of browsers without Web Locks; and two tabs sharing one outbox."""

from __future__ import annotations

from allegro_sdk.core.lease import LEASE_MS, LEASE_PREFIX, RENEW_MS, SETTLE_MS, LeaseLocks
from allegro_sdk.core.outbox import ADOPT_RETRY_MS, Outbox

from .fakes import FAKE_NOW, FakeConsole, FakeStore, FakeTimers


class Tab:
    """One tab: its own timers (a closed tab's never run again) on a clock shared by all."""

    def __init__(self, store: FakeStore, name: str, clock: FakeTimers) -> None:
        self.timers = FakeTimers()
        self.timers.now = clock.now
        self.locks = LeaseLocks(store, name, lambda: FAKE_NOW + clock.now, self.timers)
        self.answers: list[bool] = []

    def run(self, until: int) -> None:
        self.timers.advance(until - self.timers.now)


def test_a_held_lease_is_renewed_until_released() -> None:
    store, clock = FakeStore(), FakeTimers()
    tab = Tab(store, "a", clock)
    held: list[str] = []
    tab.locks.hold("k", lambda: held.append("k"))
    assert held == ["k"]  # at once: nobody else asks for a tab's own name
    assert store.values == {LEASE_PREFIX + "k": ["a", FAKE_NOW + LEASE_MS]}
    clock.now = RENEW_MS
    tab.run(RENEW_MS)
    assert store.values == {LEASE_PREFIX + "k": ["a", FAKE_NOW + RENEW_MS + LEASE_MS]}
    tab.locks.release("k")
    assert store.values == {}
    tab.run(3 * RENEW_MS)
    assert store.values == {}


def test_a_fresh_lease_of_another_tab_is_refused_and_a_lapsed_one_taken() -> None:
    store, clock = FakeStore(), FakeTimers()
    owner, other = Tab(store, "owner", clock), Tab(store, "other", clock)
    owner.locks.hold("k", lambda: None)
    other.locks.take_if_free("k", other.answers.append)
    assert other.answers == [False]
    clock.now = LEASE_MS + 1  # the owner's timers never ran: it is gone
    other.run(clock.now)
    other.locks.take_if_free("k", other.answers.append)
    assert other.answers == [False]  # not before the lease is read back
    clock.now += SETTLE_MS
    other.run(clock.now)
    assert other.answers == [False, True]
    assert store.load(LEASE_PREFIX + "k") == ["other", FAKE_NOW + clock.now + LEASE_MS]


def test_of_two_tabs_racing_for_a_lapsed_lease_the_last_writer_wins() -> None:
    lapsed = ["gone", FAKE_NOW - 1]
    store, clock = FakeStore({LEASE_PREFIX + "k": lapsed}), FakeTimers()
    first, second = Tab(store, "first", clock), Tab(store, "second", clock)
    first.locks.take_if_free("k", first.answers.append)
    store.values[LEASE_PREFIX + "k"] = lapsed  # the second tab does not see that write yet
    second.locks.take_if_free("k", second.answers.append)
    clock.now = SETTLE_MS
    first.run(SETTLE_MS)
    second.run(SETTLE_MS)
    assert (first.answers, second.answers) == ([False], [True])
    first.locks.release("k")  # not its lease: left alone
    assert store.load(LEASE_PREFIX + "k") is not None


def test_broken_storage_guards_nothing_and_never_raises() -> None:
    store, clock = FakeStore(broken=True), FakeTimers()
    tab = Tab(store, "a", clock)
    held: list[str] = []
    tab.locks.hold("k", lambda: held.append("k"))
    tab.locks.take_if_free("j", tab.answers.append)
    clock.now = SETTLE_MS
    tab.run(SETTLE_MS)
    tab.locks.release("k")
    assert (held, tab.answers) == (["k"], [True])


def test_two_tabs_with_leases_never_hold_the_same_events() -> None:
    store, clock = FakeStore(), FakeTimers()
    a, b = Tab(store, "a", clock), Tab(store, "b", clock)
    box_a = Outbox(store, "a", lambda: FAKE_NOW + clock.now, FakeConsole(), a.locks, a.timers)
    box_a.add("e1", FAKE_NOW, "{}")
    box_a.claim(lambda: None)
    box_a.save()
    box_b = Outbox(store, "b", lambda: FAKE_NOW + clock.now, FakeConsole(), b.locks, b.timers)
    box_b.adopt(lambda: None)
    clock.now = SETTLE_MS
    b.run(clock.now)
    assert box_b.entries() == [] and "allegro_outbox:a" in store.values  # a is alive
    clock.now = LEASE_MS + ADOPT_RETRY_MS  # a is closed: its lease lapses, b tries again
    b.run(clock.now)
    clock.now += SETTLE_MS
    b.run(clock.now)
    assert [entry[0] for entry in box_b.entries()] == ["e1"]
    assert set(store.values) == {"allegro_outbox:b", LEASE_PREFIX + "allegro_outbox:b"}


def test_holding_and_releasing_again_and_again_keeps_one_renewal_per_name() -> None:
    """The outbox takes its lock for each burst of events and gives it back when empty."""
    store, clock = FakeStore(), FakeTimers()
    tab = Tab(store, "a", clock)
    for _ in range(20):
        tab.locks.hold("k", lambda: None)
        clock.now += 1000
        tab.run(clock.now)
        tab.locks.release("k")
        clock.now += 1000
        tab.run(clock.now)
    tab.locks.hold("k", lambda: None)
    assert len(tab.timers.pending) == 1
    held_at = clock.now
    clock.now += RENEW_MS
    tab.run(clock.now)  # the renewal still runs while held (within RENEW_MS of the hold)
    owner, expiry = store.load(LEASE_PREFIX + "k")  # type: ignore[misc]
    assert owner == "a" and expiry > FAKE_NOW + held_at + LEASE_MS
    assert len(tab.timers.pending) == 1
    tab.locks.release("k")
    clock.now += RENEW_MS
    tab.run(clock.now)
    assert tab.timers.pending == [] and store.values == {}
