from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from allegro_collector.schemas import Event
from allegro_sdk.core.errors import DeliveryError, InvalidCallError, TrackingError
from allegro_sdk.core.outbox import Outbox
from allegro_sdk.core.promises import Promises
from allegro_sdk.core.protocol import CSRF_HEADER, SESSION_COOKIE
from allegro_sdk.core.sender import ACCEPTED, REFUSED, UNNAMED, Sender, verdict
from allegro_sdk.core.session import SessionManager
from allegro_sdk.core.tracker import Tracker
from allegro_sdk.core.url_params import DEFAULT_STRIPPED

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
    Ids,
)

DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"
EVENT_1 = "e0000001-0000-4000-8000-000000000001"
EVENT_2 = "e0000002-0000-4000-8000-000000000002"
EVENT_3 = "e0000003-0000-4000-8000-000000000003"
NOW = FAKE_NOW
COLLECTOR = "https://collector.example"

# The collector's event fields (it refuses any other top-level field): the real contract.
PROTOCOL_FIELDS = set(Event.model_fields)


class Page:
    """The injected read_page: returns whatever the test set last, and counts reads."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {
            "url": "https://site.example/article",
            "referer": "https://search.example/",
            "page_title": "An article",
        }
        self.reads = 0

    def __call__(self) -> dict[str, str]:
        self.reads += 1
        return dict(self.fields)


class Outcome:
    """The promise's two callbacks; records which was called, and with what."""

    def __init__(self) -> None:
        self.resolved: list[str] = []
        self.rejected: list[TrackingError] = []

    def resolve(self, event_id: str) -> None:
        self.resolved.append(event_id)

    def reject(self, error: TrackingError) -> None:
        self.rejected.append(error)

    @property
    def settled(self) -> int:
        return len(self.resolved) + len(self.rejected)

    @property
    def error(self) -> TrackingError:
        assert self.resolved == []
        assert len(self.rejected) == 1
        return self.rejected[0]


class Parsing:
    """The injected when_parsed: runs tasks at once once `parsed`, else keeps them in order."""

    def __init__(self, parsed: bool = True) -> None:
        self.parsed = parsed
        self.waiting: list[Callable[[], None]] = []

    def __call__(self, task: Callable[[], None]) -> None:
        if self.parsed:
            task()
        else:
            self.waiting.append(task)

    def finish(self) -> None:
        self.parsed = True
        for task in self.waiting:
            task()
        self.waiting = []


class Harness:
    def __init__(
        self,
        collector_url: str = COLLECTOR,
        stripped: frozenset[str] = DEFAULT_STRIPPED,
        parsing: Parsing | None = None,
        timeout_ms: int = 0,
    ) -> None:
        self.cookies = FakeCookies({"allegro_device_id": DEVICE})
        self.endpoint = FakeSessionEndpoint()
        self.clock = Clock(NOW)
        self.sessions = SessionManager(self.cookies, Ids(), self.endpoint, self.clock)
        self.post = FakePostJson()
        self.page = Page()
        self.ids = Ids(EVENT_1, EVENT_2, EVENT_3)
        # Flushed at once, so each track() posts as soon as its session is there; batching
        # across calls is tested in test_sender.py.
        self.timers = FakeTimers()
        promises = Promises(self.timers, timeout_ms)
        self.outbox = Outbox(
            FakeStore(),
            "tab-1",
            self.clock,
            FakeConsole(),
            FakeLocks(),
            self.timers,
            on_drop=promises.dropped,
        )
        self.sender = Sender(
            collector_url,
            self.sessions,
            self.post,
            lambda flush: flush(),
            self.outbox,
            self.timers,
            lambda: 0.5,
            promises,
        )
        self.customer_id: str | None = None
        self.parsing = parsing or Parsing()
        self.tracker = Tracker(
            self.sender,
            self.page,
            self.ids,
            self.clock,
            lambda: self.customer_id,
            stripped,
            self.parsing,
        )

    def track(self, name: object, data: object = None) -> Outcome:
        outcome = Outcome()
        self.returned = self.tracker.track(name, data, outcome.resolve, outcome.reject)
        return outcome

    def answer_session(self, token: str = "token-1", session_id: str = SESSION) -> None:
        self.endpoint.answer(session_id, token)

    def sent_event(self, index: int = -1) -> dict[str, object]:
        body = json.loads(self.post.posts[index].body)
        assert isinstance(body, dict)
        assert list(body) == ["events"]
        events = body["events"]
        assert isinstance(events, list)
        assert len(events) == 1
        event = events[0]
        assert isinstance(event, dict)
        return event

    def accept(self, event_id: str, index: int = -1) -> None:
        self.post.posts[index].on_response(200, {"accepted": [event_id], "rejected": []})


def test_one_event_is_posted_with_identity_time_and_page() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    assert harness.post.posts == []  # waits for the session
    harness.answer_session("token-1")
    assert len(harness.post.posts) == 1
    post = harness.post.last
    assert post.url == "https://collector.example/v1/events"
    assert post.headers == {CSRF_HEADER: "token-1"}
    assert CSRF_HEADER == "X-Allegro-CSRF"
    event = harness.sent_event()
    assert set(event) == PROTOCOL_FIELDS
    assert event["event_id"] == EVENT_1
    assert event["event_name"] == "page_view"
    assert event["timestamp"] == NOW
    assert isinstance(event["timestamp"], int)
    assert event["device_id"] == DEVICE
    assert event["session_id"] == SESSION
    assert event["customer_id"] is None
    assert event["url"] == "https://site.example/article"
    assert event["referer"] == "https://search.example/"
    assert event["page_title"] == "An article"
    assert event["content_id"] is None
    assert event["data"] is None
    assert outcome.settled == 0  # nothing until the collector answers


def test_body_is_compact_json_the_stdlib_would_write() -> None:
    harness = Harness()
    harness.track("x", {"data": {"text": 'é "q" \n 😀', "n": 1.5}})
    harness.answer_session()
    body = harness.post.last.body
    assert body == json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
    assert harness.sent_event()["data"] == {"text": 'é "q" \n 😀', "n": 1.5}


def test_trailing_slash_of_the_collector_url_is_dropped() -> None:
    harness = Harness("https://collector.example/")
    harness.track("x")
    harness.answer_session()
    assert harness.post.last.url == "https://collector.example/v1/events"


def test_event_name_is_trimmed() -> None:
    harness = Harness()
    harness.track("  article_read ")
    harness.answer_session()
    assert harness.sent_event()["event_name"] == "article_read"


def test_explicit_values_win_over_page_values() -> None:
    harness = Harness()
    harness.track(
        "article_read",
        {
            "page_title": "My own title",
            "content_id": "article-456",
            "content_type": "premium",
            "publisher": "Daily News",
            "referer": None,
            "data": {"product_id": "sku-789", "price": 9.99, "currency": "USD"},
        },
    )
    harness.answer_session()
    event = harness.sent_event()
    assert event["page_title"] == "My own title"
    assert event["content_id"] == "article-456"
    assert event["content_type"] == "premium"
    assert event["publisher"] == "Daily News"
    assert event["url"] == "https://site.example/article"  # the page's
    assert event["referer"] == "https://search.example/"  # None means not given
    assert event["data"] == {"product_id": "sku-789", "price": 9.99, "currency": "USD"}


def test_customer_id_is_attached() -> None:
    harness = Harness()
    harness.customer_id = "customer-42"
    harness.track("x")
    harness.answer_session()
    assert harness.sent_event()["customer_id"] == "customer-42"


def test_accepted_event_resolves_with_its_id() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    harness.answer_session()
    harness.accept(EVENT_1)
    assert outcome.resolved == [EVENT_1]
    assert outcome.rejected == []


def test_accepted_among_others_resolves() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    harness.answer_session()
    harness.post.last.on_response(200, {"accepted": ["other", EVENT_1], "rejected": []})
    assert outcome.resolved == [EVENT_1]


def test_rejected_event_is_refused_with_the_collectors_message_and_field() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    harness.answer_session()
    harness.post.last.on_response(
        422,
        {
            "accepted": [],
            "rejected": [
                {
                    "index": 0,
                    "event_id": EVENT_1,
                    "error": {
                        "field": "events.0.session_id",
                        "message": "the event's session_id is not the CSRF token's session",
                    },
                }
            ],
        },
    )
    error = outcome.error
    assert isinstance(error, DeliveryError)
    assert error.message == (
        "the collector refused the event: "
        "the event's session_id is not the CSRF token's session (field events.0.session_id)"
    )


def test_rejection_without_a_field() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    harness.answer_session()
    harness.post.last.on_response(
        422,
        {
            "accepted": [],
            "rejected": [
                {"index": 0, "event_id": EVENT_1, "error": {"field": None, "message": "m"}}
            ],
        },
    )
    assert outcome.error.message == "the collector refused the event: m"


def test_403_renews_the_token_once_then_is_refused_with_the_error_body() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    harness.answer_session()
    refusal = {"error": {"field": "csrf_token", "message": "CSRF token has expired"}}
    harness.post.last.on_response(403, refusal)
    assert outcome.rejected == [] and len(harness.endpoint.requests) == 2
    harness.answer_session("token-2")
    assert len(harness.post.posts) == 2
    assert harness.post.last.headers == {CSRF_HEADER: "token-2"}
    harness.post.last.on_response(403, refusal)
    assert len(harness.endpoint.requests) == 2 and len(harness.post.posts) == 2
    error = outcome.error
    assert isinstance(error, DeliveryError)
    assert error.message == (
        "the collector answered HTTP 403: CSRF token has expired (field csrf_token)"
    )


def test_a_2xx_without_acknowledgement_keeps_the_event_for_another_try() -> None:
    harness = Harness(timeout_ms=10_000)
    outcome = harness.track("page_view")
    harness.answer_session()
    harness.post.last.on_response(200, {"accepted": [], "rejected": []})
    assert outcome.settled == 0
    assert [e[0] for e in harness.outbox.entries()] == [EVENT_1]
    harness.timers.advance(10_000)
    assert outcome.error.message == (
        f"event {EVENT_1} was not acknowledged within 10 s; it is kept and will be sent again"
    )


def test_a_network_failure_is_retried_and_the_promise_says_so_after_a_set_timeout() -> None:
    harness = Harness(timeout_ms=10_000)
    outcome = harness.track("page_view")
    harness.answer_session()
    harness.post.last.on_failure("NetworkError when attempting to fetch resource")
    assert outcome.rejected == [] and outcome.resolved == []
    assert [e[0] for e in harness.outbox.entries()] == [EVENT_1]
    harness.timers.advance(10_000)
    error = outcome.error
    assert isinstance(error, DeliveryError)
    assert error.message == (
        f"event {EVENT_1} was not acknowledged within 10 s; it is kept and will be sent again"
    )
    # The retry happened meanwhile and is answered now: the event leaves the outbox.
    assert len(harness.post.posts) >= 2
    harness.post.last.on_response(200, {"accepted": [EVENT_1], "rejected": []})
    assert harness.outbox.entries() == []


def test_a_session_failure_is_retried_without_posting() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    harness.endpoint.last.on_response(503, None)
    assert harness.post.posts == [] and outcome.rejected == []
    assert harness.timers.delays() == [750]  # retry in 1 s x jitter 0.75
    harness.timers.advance(750)
    assert len(harness.endpoint.requests) == 2
    harness.answer_session()
    harness.post.last.on_response(200, {"accepted": [EVENT_1], "rejected": []})
    assert outcome.resolved == [EVENT_1]


def test_a_session_network_failure_is_retried_without_posting() -> None:
    harness = Harness()
    outcome = harness.track("page_view")
    harness.endpoint.last.on_failure("offline")
    assert harness.post.posts == [] and outcome.rejected == []
    harness.timers.advance(750)
    assert len(harness.endpoint.requests) == 2


@pytest.mark.parametrize(
    ("name", "data", "message_part"),
    [
        (None, None, "track() needs an event name"),
        (5, None, "the event name must be a string, got the number 5"),
        ("   ", None, "the event name must not be empty"),
        ("n" * 129, None, "the limit is 128"),
        ("ok", "not an object", "the second argument must be a plain object"),
        ("ok", {"colour": "red"}, "unknown field 'colour'"),
        ("ok", {"session_id": SESSION}, "unknown field 'session_id'"),
        ("ok", {"content_id": 1}, "'content_id' must be a string"),
        ("ok", {"data": [1]}, "'data' must be a plain object"),
        ("ok", {"data": {"x": "y" * 20000}}, "the limit is 16384"),
        ("ok", {"data": {"x": float("nan")}}, "'data' cannot be sent"),
    ],
    ids=repr,
)
def test_invalid_calls_are_refused_without_any_request(
    name: object, data: object, message_part: str
) -> None:
    harness = Harness()
    outcome = harness.track(name, data)
    error = outcome.error
    assert isinstance(error, InvalidCallError)
    assert message_part in error.message
    assert harness.endpoint.requests == []
    assert harness.post.posts == []
    assert harness.page.reads == 0
    assert harness.ids.calls == 0


def test_page_is_read_at_call_time_not_at_send_time() -> None:
    harness = Harness()
    harness.page.fields = {"url": "https://site.example/first", "page_title": "First"}
    harness.track("page_view")
    # The single-page app navigates before the session arrives.
    harness.page.fields = {"url": "https://site.example/second", "page_title": "Second"}
    harness.clock.now = NOW + 5000
    harness.answer_session()
    event = harness.sent_event()
    assert event["url"] == "https://site.example/first"
    assert event["page_title"] == "First"
    assert event["referer"] is None
    assert event["timestamp"] == NOW
    assert harness.page.reads == 1


def test_customer_id_is_taken_at_call_time() -> None:
    harness = Harness()
    harness.customer_id = "before"
    harness.track("x")
    harness.customer_id = "after"
    harness.answer_session()
    assert harness.sent_event()["customer_id"] == "before"


def test_calls_before_the_session_share_one_session_request() -> None:
    harness = Harness()
    harness.page.fields = {"url": "https://site.example/1"}
    first = harness.track("one")
    harness.page.fields = {"url": "https://site.example/2"}
    harness.clock.now = NOW + 1
    second = harness.track("two")
    assert len(harness.endpoint.requests) == 1
    harness.answer_session()
    # One request at a time: the second event goes when the first request is answered.
    assert len(harness.post.posts) == 1
    harness.accept(EVENT_1)
    assert len(harness.post.posts) == 2
    one, two = harness.sent_event(0), harness.sent_event(1)
    assert (one["event_id"], one["event_name"], one["url"], one["timestamp"]) == (
        EVENT_1,
        "one",
        "https://site.example/1",
        NOW,
    )
    assert (two["event_id"], two["event_name"], two["url"], two["timestamp"]) == (
        EVENT_2,
        "two",
        "https://site.example/2",
        NOW + 1,
    )
    harness.accept(EVENT_2, index=1)
    harness.accept(EVENT_1, index=0)
    assert first.resolved == [EVENT_1]
    assert second.resolved == [EVENT_2]


def test_later_calls_reuse_the_session_and_extend_its_cookie() -> None:
    harness = Harness()
    harness.track("one")
    harness.answer_session()
    harness.accept(EVENT_1)
    harness.track("two")
    assert len(harness.endpoint.requests) == 1
    assert len(harness.post.posts) == 2
    assert harness.post.last.headers == {CSRF_HEADER: "token-1"}
    assert harness.sent_event()["session_id"] == SESSION
    assert harness.cookies.writes_of(SESSION_COOKIE) == [(SESSION, 1800), (SESSION, 1800)]


def test_another_answer_for_another_event_does_not_resolve_this_one() -> None:
    harness = Harness()
    outcome = harness.track("x")
    harness.answer_session()
    harness.post.last.on_response(200, {"accepted": ["someone-else"], "rejected": []})
    assert outcome.settled == 0 and len(harness.outbox.entries()) == 1


def test_a_refused_csrf_token_is_not_used_again() -> None:
    """The collector's token lives 30 minutes from issue; every track() keeps the session cookie
    alive, so the in-memory session is reused past the token's expiry. Once the collector has
    answered 403 (expired token), the next track() must not be sent with that same token."""
    harness = Harness()
    harness.track("one")
    harness.answer_session("token-1")
    harness.post.last.on_response(
        403, {"error": {"field": "csrf_token", "message": "CSRF token has expired"}}
    )
    harness.track("two")
    if len(harness.endpoint.requests) > 1:
        harness.answer_session("token-2")
    assert harness.post.last.headers == {CSRF_HEADER: "token-2"}


# --- verdict() directly -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"accepted": [EVENT_1], "rejected": []}, (ACCEPTED, "")),
        (
            422,
            {
                "accepted": [],
                "rejected": [
                    {"index": 0, "event_id": None, "error": {"field": "f", "message": "m"}},
                    {"index": 1, "event_id": EVENT_1, "error": {"field": "g", "message": "n"}},
                ],
            },
            (REFUSED, "the collector refused the event: n (field g)"),
        ),
        (
            422,
            {"rejected": [{"event_id": EVENT_1, "error": {"field": "f"}}]},
            (REFUSED, "the collector refused the event: no message (field f)"),
        ),
        (
            422,
            {"rejected": [{"event_id": EVENT_1, "error": "plain text"}]},
            (REFUSED, "the collector refused the event: plain text"),
        ),
        (
            400,
            {"error": {"field": "events", "message": "must be a list"}},
            (REFUSED, "the collector answered HTTP 400: must be a list (field events)"),
        ),
        (
            413,
            {"error": {"field": None, "message": "too big"}},
            (REFUSED, "the collector answered HTTP 413: too big"),
        ),
        (502, None, (REFUSED, "the collector answered HTTP 502 without acknowledging the event")),
        (200, {}, (UNNAMED, "the collector answered HTTP 200 without acknowledging the event")),
        (
            200,
            {"accepted": "not a list"},
            (UNNAMED, "the collector answered HTTP 200 without acknowledging the event"),
        ),
    ],
    ids=repr,
)
def test_verdict(status: int, body: dict[str, object] | None, expected: tuple[str, str]) -> None:
    assert verdict(EVENT_1, status, body) == expected


# --- conversion_pv_id -----------------------------------------------------------------------


def test_later_events_point_to_the_pages_page_view() -> None:
    harness = Harness()
    harness.track("page_view")
    harness.answer_session()
    harness.accept(EVENT_1)
    harness.track("purchase")
    harness.accept(EVENT_2)
    harness.track("share", {"conversion_pv_id": "chosen-by-the-caller"})
    assert harness.sent_event(0)["conversion_pv_id"] is None
    assert harness.sent_event(1)["conversion_pv_id"] == EVENT_1
    assert harness.sent_event(2)["conversion_pv_id"] == "chosen-by-the-caller"


def test_without_a_page_view_there_is_nothing_to_point_to() -> None:
    harness = Harness()
    harness.track("purchase")
    harness.answer_session()
    assert harness.sent_event()["conversion_pv_id"] is None


# --- query parameters stripped, metadata read once the page is parsed ----------------------------


def test_personal_parameters_are_stripped_from_urls_page_or_explicit() -> None:
    harness = Harness(stripped=DEFAULT_STRIPPED | {"member"})
    harness.page.fields["url"] = "https://site.example/a?utm_source=mail&email=x%40y.z&member=7"
    harness.page.fields["referer"] = "https://mail.example/open?token=secret"
    harness.track("link_click", {"url_in_click": "https://site.example/b?password=p&id=3"})
    harness.answer_session()
    event = harness.sent_event()
    assert event["url"] == "https://site.example/a?utm_source=mail"
    assert event["referer"] == "https://mail.example/open"
    assert event["url_in_click"] == "https://site.example/b?id=3"


def test_while_the_page_is_loading_metadata_is_read_once_it_is_parsed() -> None:
    parsing = Parsing(parsed=False)
    harness = Harness(parsing=parsing)
    harness.page.fields["page_title"] = ""
    harness.track("page_view")
    harness.clock.now += 1500
    harness.track("scroll")
    assert harness.returned == EVENT_2
    assert harness.page.reads == 0  # nothing read, nothing sent yet
    assert harness.post.posts == []
    harness.page.fields["page_title"] = "The late title"
    harness.page.fields["canonical_url"] = "https://site.example/canonical"
    parsing.finish()
    harness.answer_session()
    harness.accept(EVENT_1, 0)
    first, second = harness.sent_event(0), harness.sent_event(1)
    assert [first["event_id"], second["event_id"]] == [EVENT_1, EVENT_2]
    assert first["page_title"] == second["page_title"] == "The late title"
    assert first["canonical_url"] == "https://site.example/canonical"
    assert first["timestamp"] == NOW and second["timestamp"] == NOW + 1500  # the calls' times
    assert second["conversion_pv_id"] == EVENT_1


def test_track_returns_the_new_events_id_or_none() -> None:
    harness = Harness()
    harness.track("page_view")
    assert harness.returned == EVENT_1
    harness.track(42)
    assert harness.returned is None
