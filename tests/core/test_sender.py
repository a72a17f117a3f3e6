"""Sender: events queued in one task go out together later, and each promise settles on its own."""

from __future__ import annotations

import json
from collections.abc import Callable

from allegro_sdk.core.errors import DeliveryError, NotStored, TrackingError
from allegro_sdk.core.outbox import MAX_EVENTS, Outbox
from allegro_sdk.core.promises import Promises
from allegro_sdk.core.protocol import BATCH_EVENTS, CSRF_HEADER
from allegro_sdk.core.sender import Sender
from allegro_sdk.core.session import SessionManager

from .fakes import (
    FAKE_NOW,
    Clock,
    FakeConsole,
    FakeCookies,
    FakeLocks,
    FakePostJson,
    FakeSessionEndpoint,
    FakeStore,
    FakeTimers,
)

DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"


class Outcomes:
    def __init__(self) -> None:
        self.resolved: list[str] = []
        self.rejected: dict[str, str] = {}

    def send(self, sender: Sender, event_id: str) -> None:
        def reject(error: TrackingError) -> None:
            assert isinstance(error, DeliveryError)
            self.rejected[event_id] = error.message

        event = {"event_id": event_id, "event_name": "x", "timestamp": FAKE_NOW}
        sender.send(event, self.resolved.append, reject)


class Deferred:
    """The injected `defer`: keeps what was scheduled until the test runs it."""

    def __init__(self) -> None:
        self.scheduled: list[Callable[[], None]] = []

    def __call__(self, task: Callable[[], None]) -> None:
        self.scheduled.append(task)

    def run(self) -> None:
        tasks, self.scheduled = self.scheduled, []
        for task in tasks:
            task()


class Setup:
    def __init__(
        self,
        store: FakeStore | None = None,
        locks: FakeLocks | None = None,
        max_events: int = MAX_EVENTS,
        timeout_ms: int = 0,
    ) -> None:
        self.endpoint = FakeSessionEndpoint()
        cookies = FakeCookies({"allegro_device_id": DEVICE})
        self.clock = Clock(FAKE_NOW)
        sessions = SessionManager(cookies, lambda: "unused", self.endpoint, self.clock)
        self.post = FakePostJson()
        self.deferred = Deferred()
        self.timers = FakeTimers()
        self.console = FakeConsole()
        self.store = store or FakeStore()
        self.locks = locks or FakeLocks()
        # Wired as allegro_sdk/browser/bootstrap.py wires them.
        promises = Promises(self.timers, timeout_ms)
        self.outbox = Outbox(
            self.store,
            "tab-1",
            self.clock,
            self.console,
            self.locks,
            self.timers,
            max_events,
            on_drop=promises.dropped,
        )
        self.sender = Sender(
            "https://c.example",
            sessions,
            self.post,
            self.deferred,
            self.outbox,
            self.timers,
            lambda: 0.5,
            promises,
        )
        self.outbox.adopt(self.sender.plan_flush)
        self.outcomes = Outcomes()


def setup() -> tuple[Sender, Deferred, FakeSessionEndpoint, FakePostJson, Outcomes]:
    s = Setup()
    return s.sender, s.deferred, s.endpoint, s.post, s.outcomes


def ids_in(body: str) -> list[str]:
    return [str(event["event_id"]) for event in json.loads(body)["events"]]


def test_nothing_is_sent_in_the_task_that_tracks() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    outcomes.send(sender, "a")
    assert endpoint.requests == [] and post.posts == []
    assert len(deferred.scheduled) == 1


def test_events_of_one_task_share_one_session_request_and_one_post() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    for event_id in ("a", "b", "c"):
        outcomes.send(sender, event_id)
    assert len(deferred.scheduled) == 1
    deferred.run()
    endpoint.answer(SESSION, "token-1")
    assert len(endpoint.requests) == 1 and len(post.posts) == 1
    assert ids_in(post.last.body) == ["a", "b", "c"]
    assert post.last.url == "https://c.example/v1/events"
    assert post.last.headers == {CSRF_HEADER: "token-1"}
    sent = json.loads(post.last.body)["events"]
    assert {(e["session_id"], e["device_id"]) for e in sent} == {(SESSION, DEVICE)}


def test_each_event_settles_on_its_own() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    for event_id in ("a", "b", "c"):
        outcomes.send(sender, event_id)
    deferred.run()
    endpoint.answer(SESSION, "token-1")
    error = {"field": "events.1.page_title", "message": "too long"}
    post.last.on_response(
        200, {"accepted": ["a", "c"], "rejected": [{"event_id": "b", "error": error}]}
    )
    assert outcomes.resolved == ["a", "c"]
    assert outcomes.rejected == {
        "b": "the collector refused the event: too long (field events.1.page_title)"
    }


def test_a_refused_token_is_renewed_once_for_the_whole_batch() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    outcomes.send(sender, "a")
    outcomes.send(sender, "b")
    deferred.run()
    endpoint.answer(SESSION, "token-1")
    refusal = {"error": {"field": "csrf_token", "message": "CSRF token has expired"}}
    post.last.on_response(403, refusal)
    # The same session is renewed (the cookie names it) with a fresh token.
    assert len(endpoint.requests) == 2 and endpoint.last.session_id == SESSION
    endpoint.answer(SESSION, "token-2")
    assert post.last.headers == {CSRF_HEADER: "token-2"}
    assert ids_in(post.last.body) == ["a", "b"]
    post.last.on_response(403, refusal)
    assert len(endpoint.requests) == 2 and len(post.posts) == 2
    expected = "the collector answered HTTP 403: CSRF token has expired (field csrf_token)"
    assert outcomes.rejected == {"a": expected, "b": expected}


def accept_last(s: Setup) -> None:
    ids = ids_in(s.post.last.body)
    s.post.last.on_response(200, {"accepted": ids, "rejected": []})


def test_a_large_queue_goes_out_in_bounded_batches_one_request_at_a_time() -> None:
    s = Setup()
    for number in range(BATCH_EVENTS * 2 + 1):
        s.outcomes.send(s.sender, f"e{number}")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    assert [len(ids_in(p.body)) for p in s.post.posts] == [BATCH_EVENTS]
    for _ in range(2):
        accept_last(s)
        s.deferred.run()
    assert [len(ids_in(p.body)) for p in s.post.posts] == [BATCH_EVENTS, BATCH_EVENTS, 1]
    accept_last(s)
    assert len(s.outcomes.resolved) == BATCH_EVENTS * 2 + 1
    assert s.outbox.entries() == [] and s.store.values == {}


def test_a_send_after_a_flush_schedules_a_new_flush() -> None:
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    accept_last(s)
    s.outcomes.send(s.sender, "b")
    assert len(s.deferred.scheduled) == 1
    s.deferred.run()
    assert [ids_in(p.body) for p in s.post.posts] == [["a"], ["b"]]


def test_events_are_stored_before_they_are_sent_and_removed_when_acknowledged() -> None:
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    assert [e[0] for e in s.store.values["allegro_outbox:tab-1"]] == ["a"]  # type: ignore[index, union-attr]
    s.endpoint.answer(SESSION, "token-1")
    accept_last(s)
    assert s.store.values == {}


def test_failures_are_retried_with_growing_jittered_delays() -> None:
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    waits = []
    for status in (500, 503, 408):
        s.post.last.on_response(status, None)
        due, _order, _task = s.timers.pending[-1]  # the retry just planned
        waits.append(due - s.timers.now)
        s.timers.advance(due - s.timers.now)
    assert waits == [750, 1500, 3000]  # 1 s doubling, times the jitter (0.5 + 0.5 / 2)
    accept_last(s)
    assert s.outcomes.resolved == ["a"] and len(s.post.posts) == 4


def test_retry_after_is_honoured() -> None:
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    s.post.last.on_response(429, {"error": {"field": None, "message": "slow down"}}, 30.0)
    s.timers.advance(29_999)
    assert len(s.post.posts) == 1
    s.timers.advance(1)
    assert len(s.post.posts) == 2


def test_a_refusal_for_good_removes_the_events_and_rejects_them() -> None:
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.outcomes.send(s.sender, "b")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    s.post.last.on_response(400, {"error": {"field": "events", "message": "must be a list"}})
    expected = "the collector answered HTTP 400: must be a list (field events)"
    assert s.outcomes.rejected == {"a": expected, "b": expected}
    assert s.outbox.entries() == [] and s.timers.delays() == []


def test_a_network_failure_keeps_the_batch_and_its_promises_pending() -> None:
    """Network trouble never rejects: the event is sent again, by this page or a later one."""
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    for _ in range(5):
        s.post.last.on_failure("Failed to fetch")
        s.timers.advance(60_000)  # the retry
    assert s.outcomes.rejected == {} and s.outcomes.resolved == []
    assert [e[0] for e in s.outbox.entries()] == ["a"] and len(s.post.posts) == 6
    accept_last(s)
    assert s.outcomes.resolved == ["a"] and s.outbox.entries() == []


def test_a_timeout_the_site_set_rejects_saying_the_event_is_kept() -> None:
    s = Setup(timeout_ms=10_000)
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    s.post.last.on_failure("Failed to fetch")
    assert s.outcomes.rejected == {} and [e[0] for e in s.outbox.entries()] == ["a"]
    s.timers.advance(10_000)
    assert s.outcomes.rejected == {
        "a": "event a was not acknowledged within 10 s; it is kept and will be sent again"
    }
    accept_last(s)  # a retry went out meanwhile; its late acknowledgement empties the outbox
    assert s.outbox.entries() == []


def test_what_an_earlier_page_left_is_adopted_and_sent() -> None:
    left = [["old", FAKE_NOW - 1000, '{"event_id":"old","event_name":"x"}']]
    store = FakeStore({"allegro_outbox:closed-tab": left, "unrelated": 1})
    s = Setup(store)
    assert "allegro_outbox:closed-tab" not in store.values and store.values["unrelated"] == 1
    assert len(s.deferred.scheduled) == 1
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    assert ids_in(s.post.last.body) == ["old"]
    accept_last(s)
    assert "allegro_outbox:tab-1" not in store.values


def test_nothing_is_saved_or_sent_before_the_tab_holds_its_outbox() -> None:
    s = Setup(locks=FakeLocks(manual=True))
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    assert s.post.posts == [] and s.endpoint.requests == [] and s.store.values == {}
    s.locks.grant()
    s.deferred.run()  # the flush comes back once the lock is held
    s.endpoint.answer(SESSION, "token-1")
    assert ids_in(s.post.last.body) == ["a"]
    assert list(s.store.values) == ["allegro_outbox:tab-1"]
    accept_last(s)
    assert s.store.values == {} and s.locks.held == set()


def test_an_entry_another_live_tab_holds_is_not_sent() -> None:
    theirs = "allegro_outbox:other-tab"
    store = FakeStore({theirs: [["theirs", FAKE_NOW, '{"event_id":"theirs"}']]})
    s = Setup(store, FakeLocks(others=(theirs,)))
    s.outcomes.send(s.sender, "mine")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    assert [ids_in(p.body) for p in s.post.posts] == [["mine"]]
    assert theirs in store.values


def test_a_page_left_sends_everything_at_once_with_its_token_in_the_body() -> None:
    s = Setup()
    for event_id in ("a", "b"):
        s.outcomes.send(s.sender, event_id)
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    s.outcomes.send(s.sender, "c")
    s.sender.leave()  # "a" and "b" are in flight: everything goes, keepalive or beacon
    leaving = s.post.last
    assert leaving.leaving and not s.post.posts[0].leaving
    assert json.loads(leaving.body)["csrf_token"] == "token-1"
    assert ids_in(leaving.body) == ["a", "b", "c"]
    s.sender.leave()  # visibilitychange after pagehide: not sent twice
    assert len(s.post.posts) == 2
    leaving.on_response(200, {"accepted": ["a", "b", "c"], "rejected": []})
    assert s.outcomes.resolved == ["a", "b", "c"] and s.store.values == {}
    s.post.posts[0].on_response(200, {"accepted": ["a", "b"]})  # the first request's late answer
    assert s.outcomes.resolved == ["a", "b", "c"] and s.outbox.entries() == []


def test_an_unanswered_or_failed_leaving_request_leaves_the_events_to_the_usual_sending() -> None:
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    s.sender.leave()
    s.post.last.on_failure("Failed to fetch; sent as a beacon")  # a beacon gets no answer
    assert s.timers.delays() == []  # no retry planned: the first request is in flight
    s.sender.leave()
    assert len(s.post.posts) == 2  # the page has not been back since: once per departure
    s.sender.flush()  # back (a task ran): the next departure sends again
    s.sender.leave()
    s.post.last.on_response(503, None)
    assert [e[0] for e in s.outbox.entries()] == ["a"] and s.outcomes.resolved == []
    s.post.posts[0].on_response(200, {"accepted": ["a"]})
    assert s.outcomes.resolved == ["a"] and s.store.values == {}


def test_a_leaving_body_fits_the_keepalive_budget() -> None:
    s = Setup()
    pad = "é" * 1000  # two bytes each in UTF-8
    for number in range(60):
        event_id = f"e{number}"
        s.outbox.add(event_id, FAKE_NOW, '{"event_id":"' + event_id + '","pad":"' + pad + '"}')
    s.sender.leave()
    s.endpoint.answer(SESSION, "token-1")
    body = s.post.last.body
    assert 25 < len(ids_in(body)) < 30
    assert len(body.encode()) <= 60 * 1024


def test_a_page_left_before_its_lock_came_saves_and_sends_its_events_anyway() -> None:
    s = Setup(locks=FakeLocks(manual=True))
    s.outcomes.send(s.sender, "a")
    s.sender.flush()  # a tracked link's click: the lock is asked for
    assert s.endpoint.requests == [] and s.store.values == {}
    s.sender.leave()  # the navigation follows before the lock comes
    assert list(s.store.values) == ["allegro_outbox:tab-1"]
    s.endpoint.answer(SESSION, "token-1")
    assert ids_in(s.post.last.body) == ["a"] and s.post.last.leaving


def test_a_beacon_sent_while_nothing_else_was_planned_is_followed_by_a_retry() -> None:
    s = Setup()
    s.outcomes.send(s.sender, "a")
    s.sender.leave()  # tracked just before the page was hidden: no request yet
    s.endpoint.answer(SESSION, "token-1")
    s.post.last.on_failure("keepalive refused; sent as a beacon")
    assert s.timers.delays() == [750]  # the first retry, jittered
    s.timers.advance(750)  # the page is still there (only hidden)
    assert [p.leaving for p in s.post.posts] == [True, False]
    accept_last(s)
    assert s.outcomes.resolved == ["a"] and s.store.values == {}


def test_events_the_full_outbox_drops_are_rejected_as_dropped_not_kept() -> None:
    s = Setup(max_events=2, timeout_ms=10_000)
    for event_id in ("a", "b", "c"):
        s.outcomes.send(s.sender, event_id)
    s.deferred.run()
    assert [e[0] for e in s.outbox.entries()] == ["b", "c"]
    assert s.outcomes.rejected == {"a": dropped("a")}
    s.timers.advance(10_000)  # the timeout finds the dropped event already settled
    assert s.outcomes.rejected["a"] == dropped("a")


def dropped(event_id: str) -> str:
    return (
        f"event {event_id} was dropped from the outbox (full, or the event too old) before the "
        "collector acknowledged it; it may not be delivered (data-outbox-max-events, -kb, -days)"
    )


def test_an_event_dropped_while_in_flight_is_not_said_to_be_unsent() -> None:
    """Its request may still store it: the message must hold either way."""
    s = Setup(max_events=2)
    for event_id in ("a", "b"):
        s.outcomes.send(s.sender, event_id)
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    s.outcomes.send(s.sender, "c")
    s.deferred.run()  # "a" and "b" are in flight; "c" pushes "a" out
    assert [e[0] for e in s.outbox.entries()] == ["b", "c"]
    assert s.outcomes.rejected == {"a": dropped("a")}
    s.post.last.on_response(200, {"accepted": ["a", "b"], "rejected": []})
    assert s.outcomes.resolved == ["b"] and s.outcomes.rejected == {"a": dropped("a")}


def test_a_2xx_that_does_not_name_an_event_keeps_it_and_backs_off() -> None:
    """A proxy's 200, or a body that could not be read: only what is named is settled."""
    s = Setup()
    for event_id in ("a", "b"):
        s.outcomes.send(s.sender, event_id)
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    s.post.last.on_response(200, None)
    assert s.outcomes.resolved == [] and s.outcomes.rejected == {}
    assert [e[0] for e in s.outbox.entries()] == ["a", "b"] and s.deferred.scheduled == []
    assert s.timers.delays() == [750]  # a retry, not a tight loop
    s.timers.advance(750)
    assert ids_in(s.post.last.body) == ["a", "b"]
    s.post.last.on_response(200, {"accepted": ["a"]})  # "b" is not named: kept, backoff grows
    assert s.outcomes.resolved == ["a"] and [e[0] for e in s.outbox.entries()] == ["b"]
    assert s.timers.delays() == [1500]
    s.timers.advance(1500)
    assert ids_in(s.post.last.body) == ["b"]
    accept_last(s)
    assert s.outcomes.resolved == ["a", "b"] and s.store.values == {}
    assert s.timers.delays() == []  # no retry left


def test_a_leaving_requests_2xx_settles_only_what_it_names() -> None:
    s = Setup()
    for event_id in ("a", "b"):
        s.outcomes.send(s.sender, event_id)
    s.sender.leave()
    s.endpoint.answer(SESSION, "token-1")
    s.post.last.on_response(200, {"accepted": ["a"]})
    assert s.outcomes.resolved == ["a"] and s.outcomes.rejected == {}
    assert [e[0] for e in s.store.values["allegro_outbox:tab-1"]] == ["b"]  # type: ignore[index, union-attr]
    assert s.timers.delays() == [750]  # nothing else was planned
    s.timers.advance(750)
    assert ids_in(s.post.last.body) == ["b"] and not s.post.last.leaving


def test_a_whole_batch_refused_for_good_without_naming_its_events_still_leaves() -> None:
    s = Setup()
    for event_id in ("a", "b"):
        s.outcomes.send(s.sender, event_id)
    s.deferred.run()
    s.endpoint.answer(SESSION, "token-1")
    error = {"field": "events.0.event_id", "message": "bad id"}
    s.post.last.on_response(422, {"accepted": [], "rejected": [{"event_id": None, "error": error}]})
    assert s.outcomes.rejected == {
        "a": "the collector answered HTTP 422 without acknowledging the event",
        "b": "the collector answered HTTP 422 without acknowledging the event",
    }
    assert s.outbox.entries() == [] and s.timers.delays() == []


def test_discard_forgets_every_waiting_event_and_settles_them_as_not_stored() -> None:
    s = Setup()
    settled: dict[str, str] = {}

    def send(event_id: str) -> None:
        def reject(error: TrackingError) -> None:
            assert isinstance(error, NotStored) and error.args[1] == event_id
            settled[event_id] = "not stored"

        event = {"event_id": event_id, "event_name": "x", "timestamp": FAKE_NOW}
        s.sender.send(event, lambda stored: settled.setdefault(stored, "stored"), reject)

    send("e1")
    s.deferred.run()  # e1 is in the outbox, its session being asked for
    send("e2")  # tracked, not in the outbox yet
    assert s.store.values
    s.sender.discard()
    assert settled == {"e1": "not stored", "e2": "not stored"}
    assert s.outbox.entries() == [] and s.store.values == {}
    s.endpoint.answer(SESSION, "t1")  # the answer that was under way
    s.deferred.run()
    assert s.post.posts == []  # nothing left to send
