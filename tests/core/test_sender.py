"""Sender: events queued in one task go out together later, and each promise settles on its own."""

from __future__ import annotations

import json
from collections.abc import Callable

from allegro_sdk.core.errors import DeliveryError, TrackingError
from allegro_sdk.core.sender import CSRF_HEADER, MAX_BATCH, Sender
from allegro_sdk.core.session import SessionManager

from .fakes import FAKE_NOW, Clock, FakeCookies, FakePostJson, FakeSessionEndpoint

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

        sender.send({"event_id": event_id, "event_name": "x"}, self.resolved.append, reject)


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


def setup() -> tuple[Sender, Deferred, FakeSessionEndpoint, FakePostJson, Outcomes]:
    endpoint = FakeSessionEndpoint()
    sessions = SessionManager(
        FakeCookies({"allegro_device_id": DEVICE}), lambda: "unused", endpoint, Clock(FAKE_NOW)
    )
    post = FakePostJson()
    deferred = Deferred()
    return (
        Sender("https://c.example", sessions, post, deferred),
        deferred,
        endpoint,
        post,
        Outcomes(),
    )


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


def test_a_large_queue_goes_out_in_bounded_batches() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    for number in range(MAX_BATCH * 2 + 1):
        outcomes.send(sender, f"e{number}")
    deferred.run()
    endpoint.answer(SESSION, "token-1")
    assert [len(ids_in(p.body)) for p in post.posts] == [MAX_BATCH, MAX_BATCH, 1]


def test_a_send_after_a_flush_schedules_a_new_flush() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    outcomes.send(sender, "a")
    deferred.run()
    endpoint.answer(SESSION, "token-1")
    outcomes.send(sender, "b")
    assert len(deferred.scheduled) == 1
    deferred.run()
    assert [ids_in(p.body) for p in post.posts] == [["a"], ["b"]]


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


def test_a_network_failure_rejects_the_batch() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    outcomes.send(sender, "a")
    outcomes.send(sender, "b")
    deferred.run()
    endpoint.answer(SESSION, "token-1")
    post.last.on_failure("Failed to fetch")
    assert outcomes.rejected == {
        "a": "could not reach the collector: Failed to fetch",
        "b": "could not reach the collector: Failed to fetch",
    }


def test_no_session_rejects_the_batch() -> None:
    sender, deferred, endpoint, post, outcomes = setup()
    outcomes.send(sender, "a")
    deferred.run()
    endpoint.last.on_response(503, None)
    assert post.posts == []
    assert outcomes.rejected == {"a": "the collector did not create a session (HTTP 503)"}
