from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from allegro_collector.tokens import SigningKey, issue

from .support import PREVIOUS_SECRET, SECRET, Collector, make_event, make_settings


def test_batch_is_stored_and_read_back(collector: Collector) -> None:
    session = collector.new_session()
    events = [make_event(session), make_event(session, event_name="click", data=None)]
    response = collector.post_events(session, events)
    assert response.status_code == 200
    assert response.json() == {"accepted": [e["event_id"] for e in events], "rejected": []}
    stored = collector.stored(session_id=session["session_id"])
    assert [e["event_id"] for e in stored] == [events[1]["event_id"], events[0]["event_id"]]
    assert stored[1]["data"] == {"price": 9.99, "tags": ["a", "b"]}
    assert stored[1]["page_title"] == "An article"
    assert isinstance(stored[1]["received_at"], int)


def test_repeated_event_id_is_acknowledged_and_stored_once(collector: Collector) -> None:
    session = collector.new_session()
    event = make_event(session)
    assert collector.post_events(session, [event]).json()["accepted"] == [event["event_id"]]
    retry = collector.post_events(session, [event, event])
    assert retry.status_code == 200
    assert retry.json() == {"accepted": [event["event_id"]], "rejected": []}
    rows = collector.db_rows("SELECT event_id FROM events")
    assert rows == [(event["event_id"],)]


def test_one_bad_event_does_not_cost_its_neighbours(collector: Collector) -> None:
    session = collector.new_session()
    good = [make_event(session), make_event(session)]
    bad = make_event(session, page_title="x" * 3000)
    response = collector.post_events(session, [good[0], bad, good[1]])
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == [good[0]["event_id"], good[1]["event_id"]]
    [rejection] = body["rejected"]
    assert rejection["index"] == 1
    assert rejection["event_id"] == bad["event_id"]
    assert rejection["error"]["field"] == "events.1.page_title"
    assert "2048" in rejection["error"]["message"]
    assert len(collector.db_rows("SELECT * FROM events")) == 2


def test_all_rejected_is_422(collector: Collector) -> None:
    session = collector.new_session()
    response = collector.post_events(
        session, [make_event(session, timestamp="now"), 7, make_event(session, extra=1)]
    )
    assert response.status_code == 422
    body = response.json()
    assert body["accepted"] == []
    assert [r["error"]["field"] for r in body["rejected"]] == [
        "events.0.timestamp",
        "events.1",
        "events.2.extra",
    ]
    assert body["rejected"][1]["event_id"] is None
    assert collector.db_rows("SELECT * FROM events") == []


def test_empty_batch_is_200(collector: Collector) -> None:
    session = collector.new_session()
    response = collector.post_events(session, [])
    assert (response.status_code, response.json()) == (200, {"accepted": [], "rejected": []})


def test_text_plain_body_with_token_in_the_body(collector: Collector) -> None:
    """What navigator.sendBeacon sends: no custom header, a text/plain string body."""
    session = collector.new_session()
    event = make_event(session)
    response = collector.client.post(
        "/v1/events",
        content=json.dumps({"csrf_token": session["csrf_token"], "events": [event]}),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == [event["event_id"]]


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"", None, "empty"),
        (b"\xff\xfe", None, "UTF-8"),
        (b'{"events": [NaN]}', None, "NaN"),
        (b"[" * 100_000, None, "not valid JSON"),
        (b"[]", None, "JSON object"),
        (b'{"events": {}}', "events", "valid list"),
        (b'{"events": [' + b",".join([b"1"] * 1001) + b"]}", "events", "at most 1000"),
        (b'{"csrf_token": "t"}', "events", "required"),
        (b'{"events": [], "extra": 1}', "extra", "unknown field"),
        (b'{"events": [], "csrf_token": 5}', "csrf_token", "valid string"),
    ],
)
def test_bad_envelope_is_400_json(
    collector: Collector, content: bytes, field: str | None, message: str
) -> None:
    session = collector.new_session()
    response = collector.client.post(
        "/v1/events",
        content=content,
        headers={"Content-Type": "application/json", "X-Allegro-CSRF": session["csrf_token"]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert message in response.json()["error"]["message"]


def test_other_content_type_is_415(collector: Collector) -> None:
    response = collector.client.post("/v1/events", data={"events": "[]"})
    assert response.status_code == 415
    assert "content type" in response.json()["error"]["message"]


def test_body_over_one_mib_is_413_json(collector: Collector) -> None:
    session = collector.new_session()
    body = {"events": [make_event(session, data={"pad": "x" * 1024 * 1024})]}
    response = collector.client.post(
        "/v1/events", json=body, headers={"X-Allegro-CSRF": session["csrf_token"]}
    )
    assert response.status_code == 413
    assert "larger than 1048576" in response.json()["error"]["message"]


def test_chunked_body_over_one_mib_is_413_json(collector: Collector) -> None:
    chunks = (b"x" * 65536 for _ in range(17))  # a generator: sent chunked, no Content-Length
    response = collector.client.post(
        "/v1/events", content=chunks, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["field"] is None


def token_for(collector: Collector, session: dict[str, Any], **changes: Any) -> str:
    values: dict[str, Any] = {
        "key": collector.settings.signing_key,
        "session_id": session["session_id"],
        "device_id": session["device_id"],
        "expires_at": session["expires_at"],
    }
    values.update(changes)
    return issue(**values)


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda c, s: None, "missing"),
        (lambda c, s: "not-a-token", "malformed"),
        (lambda c, s: s["csrf_token"][:-4] + "AAAA", "signature"),
        (lambda c, s: token_for(c, s, key=SigningKey.from_secret("stranger")), "unknown key"),
        (lambda c, s: token_for(c, s, expires_at=c.clock() - 1), "expired"),
    ],
)
def test_token_problems_are_403_json(collector: Collector, make_token: Any, message: str) -> None:
    session = collector.new_session()
    token = make_token(collector, session)
    headers = {} if token is None else {"X-Allegro-CSRF": token}
    response = collector.client.post(
        "/v1/events", json={"events": [make_event(session)]}, headers=headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "csrf_token"
    assert message in response.json()["error"]["message"]
    assert collector.db_rows("SELECT * FROM events") == []


def test_header_token_wins_over_body_token(collector: Collector) -> None:
    session = collector.new_session()
    response = collector.client.post(
        "/v1/events",
        json={"csrf_token": "forged", "events": []},
        headers={"X-Allegro-CSRF": session["csrf_token"]},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("field", ["session_id", "device_id"])
def test_event_of_another_session_or_device_is_rejected_alone(
    collector: Collector, field: str
) -> None:
    mine, theirs = collector.new_session(), collector.new_session()
    good = make_event(mine)
    foreign = make_event(mine, **{field: theirs[field]})
    response = collector.post_events(mine, [good, foreign])
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == [good["event_id"]]
    assert body["rejected"][0]["error"]["field"] == f"events.1.{field}"
    assert "CSRF token" in body["rejected"][0]["error"]["message"]
    only_foreign = collector.post_events(mine, [make_event(mine, **{field: theirs[field]})])
    assert only_foreign.status_code == 422
    assert collector.db_rows("SELECT event_id FROM events") == [(good["event_id"],)]


def test_token_signed_with_the_previous_secret_is_accepted(
    start_collector: Any, tmp_path: Any
) -> None:
    db = tmp_path / "rotating.sqlite3"
    before = start_collector(make_settings(db, signing_key=SigningKey.from_secret(PREVIOUS_SECRET)))
    session = before.new_session()
    after = start_collector(
        make_settings(
            db,
            signing_key=SigningKey.from_secret(SECRET),
            previous_signing_key=SigningKey.from_secret(PREVIOUS_SECRET),
        )
    )
    assert after.post_events(session, [make_event(session)]).status_code == 200
    retired = start_collector(make_settings(db, signing_key=SigningKey.from_secret(SECRET)))
    refused = retired.post_events(session, [make_event(session)])
    assert refused.status_code == 403
    assert "unknown key" in refused.json()["error"]["message"]


def test_accepted_events_extend_the_session(collector: Collector) -> None:
    collector.clock.now = 1_790_000_000_000
    session = collector.new_session()
    collector.clock.now += 25 * 60_000
    assert collector.post_events(session, [make_event(session)]).status_code == 200
    collector.clock.now += 25 * 60_000  # 50 minutes after creation, 25 after the last event
    renewed = collector.renew(session)
    assert renewed.json()["session_id"] == session["session_id"]


def test_rejection_echoes_an_invalid_event_id(collector: Collector) -> None:
    session = collector.new_session()
    upper = make_event(session, event_id=str(uuid.uuid4()).upper())
    body = collector.post_events(session, [upper]).json()
    assert body["rejected"][0]["event_id"] == upper["event_id"]
    assert body["rejected"][0]["error"]["message"] == "must be a lowercase UUID v7 or v4"


def test_lone_surrogates_are_never_echoed(collector: Collector) -> None:
    """JSON may escape lone surrogates; echoing one back would make the answer unencodable."""
    session = collector.new_session()
    headers = {"Content-Type": "application/json", "X-Allegro-CSRF": session["csrf_token"]}
    event = json.dumps(make_event(session, event_id="PLACEHOLDER"))
    bad_id = event.replace('"PLACEHOLDER"', '"\\ud800"')
    response = collector.client.post(
        "/v1/events", content=f'{{"events": [{bad_id}]}}', headers=headers
    )
    assert response.status_code == 422
    assert response.json()["rejected"][0]["event_id"] is None
    bad_key = '{"events": [], "\\udc00": 1}'
    response = collector.client.post("/v1/events", content=bad_key, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["field"] is None


def test_non_finite_numbers_and_deep_nesting_are_rejected_per_event(collector: Collector) -> None:
    """`1e400` parses as infinity, which JSON cannot write back; data nested hundreds deep could
    not be read back either. Both are refused by themselves; the admin read stays whole."""
    session = collector.new_session()
    infinite, deep, good = make_event(session), make_event(session), make_event(session)
    nested = "[" * 963 + "]" * 963
    body = (
        '{"events": ['
        + json.dumps({**infinite, "data": {"x": 0}}).replace('{"x": 0}', '{"x": 1e400}')
        + ","
        + json.dumps({**deep, "data": {"d": 0}}).replace('{"d": 0}', '{"d": ' + nested + "}")
        + ","
        + json.dumps(good)
        + "]}"
    )
    response = collector.client.post(
        "/v1/events",
        content=body,
        headers={"Content-Type": "application/json", "X-Allegro-CSRF": session["csrf_token"]},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["accepted"] == [good["event_id"]]
    assert [
        (r["index"], r["error"]["field"], r["error"]["message"]) for r in answer["rejected"]
    ] == [
        (0, "events.0.data.x", "must be a finite number (JSON has no Infinity or NaN)"),
        (1, "events.1.data.d" + ".0" * 31, "is nested more than 32 levels deep"),
    ]
    for params in ({}, {"device_id": session["device_id"]}):
        assert [e["event_id"] for e in collector.stored(**params)] == [good["event_id"]]


def test_data_nested_32_levels_deep_is_stored(collector: Collector) -> None:
    session = collector.new_session()
    data = {"d": json.loads("[" * 31 + "]" * 31)}  # data is level 1, so 31 lists reach 32
    event = make_event(session, data=data)
    assert collector.post_events(session, [event]).json()["accepted"] == [event["event_id"]]
    assert collector.stored()[0]["data"] == data


def test_an_event_id_another_device_stored_is_rejected_alone(collector: Collector) -> None:
    """Ids are global: a repeat from another device must not be acknowledged with the first
    device's payload kept; a repeat from the same device is a duplicate, acknowledged."""
    first = collector.new_session()
    other = collector.new_session()
    taken = make_event(first)
    assert collector.post_events(first, [taken]).json()["accepted"] == [taken["event_id"]]
    copy = make_event(other, event_id=taken["event_id"], event_name="purchase")
    neighbour = make_event(other)
    response = collector.post_events(other, [copy, neighbour])
    assert response.status_code == 200
    assert response.json() == {
        "accepted": [neighbour["event_id"]],
        "rejected": [
            {
                "index": 0,
                "event_id": taken["event_id"],
                "error": {
                    "field": "events.0.event_id",
                    "message": "belongs to another device: an event with this id was stored "
                    "for another device_id; make a new id for a new event",
                },
            }
        ],
    }
    assert collector.post_events(other, [copy]).status_code == 422
    # The same device again, even from a later session: an acknowledged duplicate.
    later = {**collector.new_session(first["device_id"])}
    again = make_event(later, event_id=taken["event_id"])
    assert collector.post_events(later, [again]).json()["accepted"] == [taken["event_id"]]
    assert collector.db_rows(
        "SELECT device_id, event_name FROM events WHERE event_id = ?", taken["event_id"]
    ) == [(first["device_id"], "page_view")]


def test_a_nul_character_is_refused_by_itself_and_kept_inside_data(collector: Collector) -> None:
    """PostgreSQL's text columns cannot hold U+0000: an event carrying one in a field is refused
    by itself in either store (before, on PostgreSQL, it failed the write of every batch
    committed with it); inside `data`, stored as JSON text, it is kept."""
    session = collector.new_session()
    good = make_event(session)
    titled = make_event(session, page_title="a\x00b")
    noted = make_event(session, data={"note": "a\x00b"})
    answer = collector.post_events(session, [good, titled, noted])
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == [good["event_id"], noted["event_id"]]
    assert [
        (r["index"], r["event_id"], r["error"]["field"], r["error"]["message"])
        for r in answer.json()["rejected"]
    ] == [
        (
            1,
            titled["event_id"],
            "events.1.page_title",
            "contains a NUL character (U+0000), which cannot be stored",
        )
    ]
    stored = {e["event_id"]: e for e in collector.stored()}
    assert set(stored) == {good["event_id"], noted["event_id"]}
    assert stored[noted["event_id"]]["data"] == {"note": "a\x00b"}
