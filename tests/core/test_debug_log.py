from __future__ import annotations

from typing import TYPE_CHECKING

from allegro_sdk.core.debug_log import LoggingSender, logging_post
from allegro_sdk.core.errors import DeliveryError, TrackingError

if TYPE_CHECKING:
    from allegro_sdk.core.ports import OnFailure, OnResponse
    from allegro_sdk.core.sender import Reject, Resolve


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, object], Resolve, Reject]] = []

    def send(self, event: dict[str, object], resolve: Resolve, reject: Reject) -> None:
        self.sent.append((event, resolve, reject))


def test_each_event_is_logged_when_tracked_and_when_settled() -> None:
    log: list[str] = []
    inner = RecordingSender()
    sender = LoggingSender(inner, log.append)
    resolved: list[str] = []
    refused: list[str] = []

    def reject(error: TrackingError) -> None:
        refused.append(error.message)

    sender.send({"event_name": "page_view", "event_id": "e1"}, resolved.append, reject)
    sender.send({"event_name": "buy", "event_id": "e2"}, resolved.append, reject)
    inner.sent[0][1]("e1")
    inner.sent[1][2](DeliveryError("the collector refused the event: bad"))
    assert log == [
        'tracked page_view e1: {"event_name":"page_view","event_id":"e1"}',
        'tracked buy e2: {"event_name":"buy","event_id":"e2"}',
        "stored page_view e1",
        "not stored buy e2: the collector refused the event: bad",
    ]
    assert resolved == ["e1"]
    assert refused == ["the collector refused the event: bad"]


def test_each_request_is_logged_with_its_answer_or_failure() -> None:
    log: list[str] = []
    calls: list[tuple[str, OnResponse, OnFailure, bool]] = []

    def post(
        url: str,
        body: str,
        headers: dict[str, str],
        on_response: OnResponse,
        on_failure: OnFailure,
        leaving: bool,
    ) -> None:
        calls.append((url, on_response, on_failure, leaving))

    answers: list[object] = []
    logged = logging_post(post, log.append)
    logged(
        "https://c.example/v1/events",
        '{"events":[]}',
        {},
        lambda *a: answers.append(a),
        answers.append,
        False,
    )
    logged("https://c.example/v1/events", "{}", {}, lambda *a: None, answers.append, True)
    calls[0][1](200, {"accepted": ["e1"]}, None)
    calls[1][2]("Failed to fetch")
    assert log == [
        'POST https://c.example/v1/events: {"events":[]}',
        "POST https://c.example/v1/events (page being left): {}",
        'answer 200 from https://c.example/v1/events: {"accepted":["e1"]}',
        "no answer from https://c.example/v1/events: Failed to fetch",
    ]
    assert answers == [(200, {"accepted": ["e1"]}, None), "Failed to fetch"]
