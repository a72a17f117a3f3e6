from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from allegro_collector.member_tokens import mint_member_token
from allegro_collector.settings import Settings

from .support import (
    MEMBER_AUDIENCE,
    MEMBER_SECRET,
    Collector,
    StartCollector,
    make_event,
    with_members,
)


@pytest.fixture
def members(start_collector: StartCollector, settings: Settings) -> Collector:
    return start_collector(with_members(settings))


def token_for(customer_id: str, **claims: object) -> str:
    if not claims:
        return mint_member_token(customer_id, MEMBER_SECRET, MEMBER_AUDIENCE)
    now = int(time.time())
    values: dict[str, object] = {"sub": customer_id, "aud": MEMBER_AUDIENCE, "iat": now}
    values["exp"] = now + 60
    values.update(claims)
    return jwt.encode(values, MEMBER_SECRET, algorithm="HS256")


def log_in(
    collector: Collector,
    session: dict[str, Any],
    customer_id: str = "c-42",
    token: str | None = None,
    csrf: str | None = "the session's",
    **overrides: Any,
) -> httpx.Response:
    """POST /v1/members/login for `session`; `csrf=None` sends no CSRF header."""
    body = {
        "device_id": session["device_id"],
        "session_id": session["session_id"],
        "customer_id": customer_id,
        "token": token_for(customer_id) if token is None else token,
        **overrides,
    }
    if csrf == "the session's":
        csrf = session["csrf_token"]
    headers = {} if csrf is None else {"X-Allegro-CSRF": csrf}
    return collector.client.post("/v1/members/login", json=body, headers=headers)


def error(response: httpx.Response) -> tuple[int, str | None, str]:
    detail = response.json()["error"]
    return response.status_code, detail["field"], detail["message"]


def member_session(session: dict[str, Any], login: httpx.Response) -> dict[str, Any]:
    """The session a login answered with (a new one), as `new_session()` gives them."""
    assert login.status_code == 200, login.text
    return {**session, **login.json()}


def test_login_binds_the_member_to_a_new_session_and_later_events_carry_it(
    members: Collector,
) -> None:
    session = members.new_session()
    response = log_in(members, session)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer.keys() == {"customer_id", "session_id", "csrf_token", "expires_at"}
    assert answer["customer_id"] == "c-42"
    assert answer["session_id"] != session["session_id"]
    assert answer["csrf_token"].split(".")[2:4] == [answer["session_id"], session["device_id"]]
    member = member_session(session, response)
    event = make_event(member, customer_id="c-42")
    assert members.post_events(member, [event]).status_code == 200
    assert members.stored()[0]["customer_id"] == "c-42"


def test_session_fixation_a_planted_session_gains_nothing_from_the_login(
    members: Collector,
) -> None:
    """Someone planted their session's cookies in the victim's browser, then the victim logged
    in: the planted token renews nothing and never carries the member, but events of that
    session still waiting in the victim's outbox are stored, anonymous."""
    planted = members.new_session()
    waiting = make_event(planted, customer_id="c-42")
    member = member_session(planted, log_in(members, planted))
    # The attacker's token can no longer renew the session, not even right away ...
    renewal = members.renew(planted)
    assert renewal.status_code == 201
    assert renewal.json()["session_id"] not in (planted["session_id"], member["session_id"])
    assert renewal.json()["customer_id"] is None
    # ... nor can it make events of the member.
    assert members.post_events(planted, [waiting]).json() == {
        "accepted": [waiting["event_id"]],
        "rejected": [],
    }
    foreign = make_event(planted, session_id=member["session_id"], customer_id="c-42")
    answer = members.post_events(planted, [foreign]).json()
    assert answer["rejected"][0]["error"]["field"] == "events.0.session_id"
    assert [(e["session_id"], e["customer_id"]) for e in members.stored()] == [
        (planted["session_id"], None)
    ]
    # The member's own session renews with the member.
    renewed = members.renew(member)
    assert (renewed.json()["session_id"], renewed.json()["customer_id"]) == (
        member["session_id"],
        "c-42",
    )


def test_an_old_token_proves_a_renewal_for_one_session_lifetime_only(
    members: Collector,
) -> None:
    members.clock.now = 1_790_000_000_000
    session = members.new_session()
    token_expiry = session["expires_at"]
    # Events keep the session live past its token's expiry ...
    members.clock.now = token_expiry - 60_000
    assert members.post_events(session, [make_event(session)]).status_code == 200
    members.clock.now = token_expiry + members.settings.session_lifetime_ms - 120_000
    assert members.renew(session).json()["session_id"] == session["session_id"]
    # ... but a token expired longer ago than a session can idle proves nothing.
    members.clock.now = token_expiry + members.settings.session_lifetime_ms + 1
    stale = {**session, "session_id": session["session_id"]}
    assert members.renew(stale).json()["session_id"] != session["session_id"]


def test_customer_ids_no_login_backs_are_not_stored(members: Collector) -> None:
    """The browser cannot make an event claim a member: only a verified login can."""
    anonymous = members.new_session()
    logged_in = members.new_session()
    assert log_in(members, logged_in, "c-42").status_code == 200
    claims = [
        make_event(anonymous, customer_id="c-42"),  # no member bound to this session
        make_event(logged_in, customer_id="c-99"),  # another member than the bound one
        make_event(logged_in, customer_id=None),  # tracked before the login finished
    ]
    for event in claims:
        session = anonymous if event["session_id"] == anonymous["session_id"] else logged_in
        assert members.post_events(session, [event]).json()["accepted"] == [event["event_id"]]
    assert [stored["customer_id"] for stored in members.stored()] == [None, None, None]


def test_renewing_the_session_returns_the_bound_member(members: Collector) -> None:
    session = member_session(anonymous := members.new_session(), log_in(members, anonymous))
    response = members.renew(session)
    assert response.status_code == 201
    assert response.json()["session_id"] == session["session_id"]
    assert response.json()["customer_id"] == "c-42"
    assert members.new_session()["customer_id"] is None


def test_same_member_again_keeps_the_members_session(members: Collector) -> None:
    session = members.new_session()
    member = member_session(session, log_in(members, session))
    again = log_in(members, member)
    assert again.json()["session_id"] == member["session_id"]
    # A login repeated with the old session's token (another tab, a lost answer) finds the
    # session the first one made.
    assert log_in(members, session).json()["session_id"] == member["session_id"]
    assert members.db_rows("SELECT count(*) FROM sessions") == [(2,)]


def test_another_member_on_a_bound_session_is_refused(members: Collector) -> None:
    session = member_session(anonymous := members.new_session(), log_in(members, anonymous))
    assert error(log_in(members, session, "c-43")) == (
        409,
        "customer_id",
        "the session belongs to another member; log out first",
    )
    assert members.db_rows("SELECT customer_id FROM sessions ORDER BY created_at") == [
        (None,),
        ("c-42",),
    ]


def test_ended_session_is_refused(start_collector: StartCollector, settings: Settings) -> None:
    """A session can end before its CSRF token does when sessions are set shorter than tokens."""
    short = dataclasses.replace(with_members(settings), session_lifetime_ms=10 * 60_000)
    members = start_collector(short)
    members.clock.now = 1_790_000_000_000
    session = members.new_session()
    members.clock.now += 11 * 60_000
    assert error(log_in(members, session)) == (
        409,
        "session_id",
        "the session has ended; start a new one and log in again",
    )
    assert members.db_rows("SELECT customer_id FROM sessions") == [(None,)]


@pytest.mark.parametrize(
    ("claims", "field", "message"),
    [
        # Times are seconds from when the test runs (a suite can take longer than their margins).
        ({"aud": "https://other.example"}, "token", "member token is for another site (aud)"),
        ({"exp": -60, "iat": -120}, "token", "has expired"),
        ({"exp": 7200}, "token", "the most allowed is 3600 s"),
        ({"iat": 600, "exp": 660}, "token", "in the future"),
        ({"sub": "c-99"}, "customer_id", "does not match the member token's subject (sub)"),
    ],
)
def test_bad_claims_are_refused_and_bind_nothing(
    members: Collector, claims: dict[str, object], field: str, message: str
) -> None:
    session = members.new_session()
    now = int(time.time())
    timed = {
        k: now + v if k in ("exp", "iat") and isinstance(v, int) else v for k, v in claims.items()
    }
    status, found_field, found_message = error(
        log_in(members, session, token=token_for("c-42", **timed))
    )
    assert (status, found_field) == (401, field)
    assert message in found_message
    assert members.db_rows("SELECT customer_id FROM sessions") == [(None,)]


def test_forged_and_unsigned_tokens_are_refused(members: Collector) -> None:
    session = members.new_session()
    forged = mint_member_token("c-42", "an-attacker-guessed-secret-32-bytes!", MEMBER_AUDIENCE)
    assert error(log_in(members, session, token=forged)) == (
        401,
        "token",
        "member token has an invalid signature",
    )
    header, payload, _ = token_for("c-42").split(".")
    none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    for token in (f"{none_header}.{payload}.", f"{header}.{payload}.", "garbage"):
        status, field, _ = error(log_in(members, session, token=token))
        assert (status, field) == (401, "token")
    assert members.db_rows("SELECT customer_id FROM sessions") == [(None,)]


def test_csrf_token_must_be_the_sessions(members: Collector) -> None:
    mine = members.new_session()
    other = members.new_session()
    assert error(log_in(members, mine, csrf=other["csrf_token"]))[:2] == (403, "session_id")
    assert error(log_in(members, mine, csrf=None)) == (403, "csrf_token", "CSRF token is missing")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer_id": ""}, "customer_id"),
        ({"customer_id": 42}, "customer_id"),
        ({"token": ""}, "token"),
        ({"device_id": "not-a-uuid"}, "device_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_malformed_bodies_name_the_field(
    members: Collector, overrides: dict[str, object], field: str
) -> None:
    session = members.new_session()
    fields: dict[str, Any] = {"token": token_for("c-42"), **overrides}
    status, found, _ = error(log_in(members, session, **fields))
    assert (status, found) == (400, field)


def test_login_is_refused_when_not_configured(collector: Collector) -> None:
    session = collector.new_session()
    status, field, message = error(log_in(collector, session))
    assert (status, field) == (501, None)
    assert "ALLEGRO_MEMBER_SECRET (or --member-secret-file) and --member-audience" in message


def test_a_new_device_id_is_not_a_member(members: Collector) -> None:
    session = members.new_session()
    assert log_in(members, session).status_code == 200
    stranger = members.new_session(str(uuid.uuid4()))
    assert stranger["customer_id"] is None


def test_knowing_a_members_session_and_device_ids_is_not_enough(members: Collector) -> None:
    """The ids are in every stored event (and on the demo's live view): renewing a session
    needs its token, so an onlooker gets a session of their own, with no member."""
    anonymous = members.new_session()
    victim = member_session(anonymous, log_in(members, anonymous, "victim"))
    attacker = members.renew(victim, csrf_token=None).json()
    assert attacker["session_id"] != victim["session_id"]
    assert attacker["customer_id"] is None
    stolen = {**attacker, "device_id": victim["device_id"]}
    event = make_event(stolen, customer_id="victim", event_name="purchase")
    assert members.post_events(stolen, [event]).json()["accepted"] == [event["event_id"]]
    assert members.stored()[0]["customer_id"] is None


def log_out(
    collector: Collector, session: dict[str, Any], csrf: str | None = None
) -> httpx.Response:
    return collector.client.post(
        "/v1/members/logout",
        json={"device_id": session["device_id"], "session_id": session["session_id"]},
        headers={"X-Allegro-CSRF": csrf or session["csrf_token"]},
    )


def test_logout_ends_the_session_so_nothing_can_renew_it(members: Collector) -> None:
    members.clock.now = 1_790_000_000_000
    session = member_session(anonymous := members.new_session(), log_in(members, anonymous))
    response = log_out(members, session)
    assert response.status_code == 200
    assert response.json() == {"session_id": session["session_id"]}
    renewed = members.renew(session).json()  # a renewal another tab had in flight, say
    assert renewed["session_id"] != session["session_id"] and renewed["customer_id"] is None
    # A batch that was in flight at logout (or anyone with an old token) is stored, without the
    # member, and does not bring the session back.
    late = make_event(session, customer_id="c-42")
    assert members.post_events(session, [late]).json()["accepted"] == [late["event_id"]]
    assert members.stored()[0]["customer_id"] is None
    assert members.renew(session).json()["session_id"] != session["session_id"]
    assert log_out(members, session).status_code == 200  # again: nothing left to end


def test_logout_takes_an_expired_token_but_not_another_sessions(members: Collector) -> None:
    members.clock.now = 1_790_000_000_000
    session = members.new_session()
    other = members.new_session()
    assert error(log_out(members, session, csrf=other["csrf_token"]))[:2] == (403, "session_id")
    members.clock.now += 29 * 60_000
    assert members.renew(session).status_code == 201  # keeps the session alive
    members.clock.now += 2 * 60_000  # the first token has expired, the session has not
    assert log_out(members, session).status_code == 200
    assert members.renew(session).json()["session_id"] != session["session_id"]


def test_a_token_with_non_integer_times_is_refused(members: Collector) -> None:
    session = members.new_session()
    now = int(time.time())
    for claims in ({"iat": str(now)}, {"exp": float(now + 60)}):
        status, field, message = error(log_in(members, session, token=token_for("c-42", **claims)))
        assert (status, field) == (401, "token")
        assert message == "member token's iat and exp must be whole seconds"
