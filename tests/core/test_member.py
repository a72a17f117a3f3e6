from __future__ import annotations

import json

import pytest

from allegro_sdk.core.errors import DeliveryError, InvalidCallError
from allegro_sdk.core.member import MEMBER_KEY, Members
from allegro_sdk.core.protocol import SESSION_COOKIE, TOKEN_COOKIE
from allegro_sdk.core.session import PROOF_SEPARATOR, SessionManager

from .fakes import (
    FAKE_NOW,
    Clock,
    FakeConsole,
    FakeCookies,
    FakePostJson,
    FakeSessionEndpoint,
    FakeStore,
    Ids,
)

DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"
NEXT_SESSION = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
# CSRF tokens as the collector makes them: each names its session (the SDK reads it there).
CSRF_1 = f"v1.kid.{SESSION}.{DEVICE}.1790001800000.sig1"
CSRF_2 = f"v1.kid.{NEXT_SESSION}.{DEVICE}.1790001800000.sig2"
CSRF_OLD = f"v1.kid.{SESSION}.{DEVICE}.1790000000000.old"
CSRF_NEW = f"v1.kid.{SESSION}.{DEVICE}.1790001800000.new"
LOGIN_URL = "https://collector.example/v1/members/login?protocol=2"


class Harness:
    def __init__(self, store: FakeStore | None = None, cookies: FakeCookies | None = None) -> None:
        self.cookies = cookies or FakeCookies({"allegro_device_id": DEVICE})
        self.endpoint = FakeSessionEndpoint()
        self.sessions = SessionManager(self.cookies, Ids(), self.endpoint, Clock(FAKE_NOW))
        self.post = FakePostJson()
        self.store = store or FakeStore()
        self.console = FakeConsole()
        self.members = Members(
            "https://collector.example/", self.sessions, self.post, self.store, self.console
        )
        # As allegro_sdk/browser/bootstrap.py:
        self.sessions.add_listener(self.members.learn)
        self.sessions.member_known = self.members.current
        self.resolved: list[str] = []
        self.rejected: list[Exception] = []

    def login(self, credentials: object) -> None:
        self.members.login(credentials, self.resolved.append, self.rejected.append)

    def answer_login(self, status: int = 200, body: dict[str, object] | None = None) -> None:
        self.post.last.on_response(status, body, None)

    def logged_in(self, customer_id: str = "c-42") -> None:
        self.login({"customer_id": customer_id, "token": "jwt"})
        self.endpoint.answer(SESSION, CSRF_1)
        self.answer_login(200, {"customer_id": customer_id, "session_id": SESSION})


def test_the_session_a_login_rotates_to_is_used_from_then_on() -> None:
    """The collector answers a login with the member's new session and its token: the cookies
    name it, the member note is for it, and the next use of the session is it, unasked."""
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": "jwt"})
    harness.endpoint.answer(SESSION, CSRF_1)
    harness.answer_login(
        200,
        {
            "customer_id": "c-42",
            "session_id": NEXT_SESSION,
            "csrf_token": CSRF_2,
            "expires_at": FAKE_NOW + 1_800_000,
        },
    )
    assert harness.resolved == ["c-42"]
    assert harness.cookies.get(SESSION_COOKIE) == NEXT_SESSION
    # The token, its expiry and "a member is logged in": the next page uses it as it is.
    assert harness.cookies.get(TOKEN_COOKIE) == PROOF_SEPARATOR.join(
        (NEXT_SESSION, CSRF_2, str(FAKE_NOW + 1_800_000), "1", DEVICE)
    )
    assert harness.store.values[MEMBER_KEY] == [NEXT_SESSION, "c-42"]
    assert harness.members.current() == "c-42"
    used: list[tuple[str, str]] = []
    requests = len(harness.endpoint.requests)
    harness.sessions.with_session(lambda s: used.append((s.session_id, s.csrf_token)), print)
    assert used == [(NEXT_SESSION, CSRF_2)]
    assert len(harness.endpoint.requests) == requests  # no session request needed


def test_the_next_page_knows_the_member_and_another_subdomain_asks() -> None:
    """After a login, the next page (same cookies, same storage) uses the stored token as it is
    and knows the member; a subdomain sharing the cookies but not the storage renews the session,
    and the collector's answer names the member."""
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": "jwt"})
    harness.endpoint.answer(SESSION, CSRF_1)
    answer = {"session_id": NEXT_SESSION, "csrf_token": CSRF_2, "expires_at": FAKE_NOW + 1_800_000}
    harness.answer_login(200, {"customer_id": "c-42", **answer})
    next_page = Harness(store=harness.store, cookies=harness.cookies)
    next_page.sessions.with_session(lambda session: None, print)
    assert next_page.endpoint.requests == []
    assert next_page.members.current() == "c-42"
    subdomain = Harness(cookies=harness.cookies)
    assert subdomain.members.current() is None
    subdomain.sessions.with_session(lambda session: None, print)
    assert (subdomain.endpoint.last.session_id, subdomain.endpoint.last.proof) == (
        NEXT_SESSION,
        CSRF_2,
    )
    subdomain.endpoint.answer(NEXT_SESSION, CSRF_2, customer_id="c-42")
    assert subdomain.members.current() == "c-42"


def test_login_creates_the_session_then_posts_the_token_with_csrf() -> None:
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": " jwt "})
    assert harness.post.posts == []  # waits for the session the login creates
    assert harness.endpoint.last.session_id is None
    harness.endpoint.answer(SESSION, CSRF_1)
    post = harness.post.last
    assert post.url == LOGIN_URL
    assert post.headers == {"X-Allegro-CSRF": CSRF_1}
    assert json.loads(post.body) == {
        "device_id": DEVICE,
        "session_id": SESSION,
        "customer_id": "c-42",
        "token": "jwt",
    }
    assert harness.members.current() is None  # not before the collector says so
    harness.answer_login(200, {"customer_id": "c-42", "session_id": SESSION})
    assert harness.resolved == ["c-42"]
    assert harness.members.current() == "c-42"
    assert harness.store.values[MEMBER_KEY] == [SESSION, "c-42"]


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (None, "member.login() needs { customer_id, token }"),
        ("c-42", "needs { customer_id, token }: the token your backend signed; got a string"),
        ({"token": "jwt"}, "'customer_id' must be a non-empty string"),
        ({"customer_id": 42, "token": "jwt"}, "'customer_id' must be a non-empty string"),
        ({"customer_id": "c-42"}, "'token' must be a non-empty string"),
        ({"customer_id": "c-42", "token": "  "}, "'token' must be a non-empty string"),
        ({"customer_id": "c" * 2049, "token": "jwt"}, "2049 characters long; the limit is 2048"),
    ],
)
def test_bad_calls_reject_without_a_request(credentials: object, message: str) -> None:
    harness = Harness()
    harness.login(credentials)
    assert len(harness.rejected) == 1
    assert isinstance(harness.rejected[0], InvalidCallError)
    assert message in str(harness.rejected[0])
    assert harness.endpoint.requests == [] and harness.post.posts == []


def test_refused_token_rejects_with_the_collectors_reason_and_binds_nothing() -> None:
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": "forged"})
    harness.endpoint.answer(SESSION, CSRF_1)
    harness.answer_login(
        401, {"error": {"field": "token", "message": "member token has an invalid signature"}}
    )
    assert [str(error) for error in harness.rejected] == [
        "member.login() was refused: member token has an invalid signature (field token)"
    ]
    assert isinstance(harness.rejected[0], DeliveryError)
    assert harness.members.current() is None
    assert MEMBER_KEY not in harness.store.values


def test_refused_csrf_token_is_renewed_once() -> None:
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": "jwt"})
    harness.endpoint.answer(SESSION, CSRF_OLD)
    harness.answer_login(403, {"error": {"field": "csrf_token", "message": "expired"}})
    harness.endpoint.answer(SESSION, CSRF_NEW)
    assert harness.post.last.headers == {"X-Allegro-CSRF": CSRF_NEW}
    harness.answer_login(403, {"error": {"field": "csrf_token", "message": "expired"}})
    assert "refused: expired (field csrf_token)" in str(harness.rejected[0])
    assert len(harness.post.posts) == 2


def test_unreachable_collector_rejects() -> None:
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": "jwt"})
    harness.endpoint.last.on_failure("TypeError: Failed to fetch")
    assert [str(error) for error in harness.rejected] == [
        "member.login() failed: could not reach the collector: TypeError: Failed to fetch"
    ]
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": "jwt"})
    harness.endpoint.answer(SESSION, CSRF_1)
    harness.post.last.on_failure("TypeError: Failed to fetch")
    assert "could not reach the collector" in str(harness.rejected[0])


def test_logout_forgets_the_member_and_starts_a_new_session() -> None:
    harness = Harness()
    harness.logged_in()
    done: list[bool] = []
    harness.members.logout(lambda: done.append(True))
    assert harness.members.current() is None
    assert MEMBER_KEY not in harness.store.values
    assert harness.cookies.get(SESSION_COOKIE) is None
    assert harness.endpoint.last.session_id is None  # a new session, not a renewal
    assert done == []
    harness.endpoint.answer(NEXT_SESSION, CSRF_2)
    assert done == [True]
    assert harness.cookies.get(SESSION_COOKIE) == NEXT_SESSION


def test_logout_resolves_and_warns_when_no_new_session_can_start() -> None:
    harness = Harness()
    harness.logged_in()
    done: list[bool] = []
    harness.members.logout(lambda: done.append(True))
    harness.endpoint.last.on_failure("offline")
    assert done == [True]
    assert harness.members.current() is None
    assert "logged out; a new session will start later" in harness.console.warnings[0]


def test_logging_in_as_another_member_starts_a_new_session_first() -> None:
    harness = Harness()
    harness.logged_in("c-42")
    harness.login({"customer_id": "c-43", "token": "jwt"})
    assert harness.members.current() is None
    assert harness.endpoint.last.session_id is None
    harness.endpoint.answer(NEXT_SESSION, CSRF_2)
    assert json.loads(harness.post.last.body)["session_id"] == NEXT_SESSION


def test_the_member_lasts_as_long_as_its_session() -> None:
    harness = Harness()
    harness.logged_in()
    harness.cookies.set(SESSION_COOKIE, NEXT_SESSION, 1800)  # another tab's new session
    assert harness.members.current() is None


def test_a_session_answer_naming_a_member_teaches_this_tab() -> None:
    """A reload, or another tab's login: the collector's renewal answer names the member."""
    store = FakeStore()
    harness = Harness(store)
    harness.sessions.with_session(lambda session: None, lambda message: None)
    harness.endpoint.answer(SESSION, CSRF_1, customer_id="c-42")
    assert harness.members.current() == "c-42"
    assert store.values[MEMBER_KEY] == [SESSION, "c-42"]


def test_another_page_reads_the_stored_member() -> None:
    store = FakeStore({MEMBER_KEY: [SESSION, "c-42"]})
    cookies = FakeCookies({"allegro_device_id": DEVICE, SESSION_COOKIE: SESSION})
    assert Harness(store, cookies).members.current() == "c-42"
    assert Harness(FakeStore({MEMBER_KEY: "junk"}), cookies).members.current() is None


def test_broken_storage_keeps_the_member_in_memory() -> None:
    harness = Harness(FakeStore(broken=True))
    harness.logged_in()
    assert harness.resolved == ["c-42"]
    assert harness.members.current() == "c-42"
    harness.members.logout(lambda: None)
    assert harness.members.current() is None


def test_logout_ends_the_session_at_the_collector_too() -> None:
    harness = Harness()
    harness.logged_in()
    harness.members.logout(lambda: None)
    logout = harness.post.last
    assert logout.url == "https://collector.example/v1/members/logout?protocol=2"
    assert json.loads(logout.body) == {"device_id": DEVICE, "session_id": SESSION}
    assert logout.headers == {"X-Allegro-CSRF": CSRF_1}
    logout.on_failure("offline")  # ignored: the session has ended here anyway
    assert harness.rejected == [] and harness.members.current() is None


def test_a_session_of_another_member_is_replaced_and_the_login_retried() -> None:
    """Another tab's member, not yet noted here: the collector says so and the SDK starts anew."""
    harness = Harness()
    harness.login({"customer_id": "c-43", "token": "jwt"})
    harness.endpoint.answer(SESSION, CSRF_1)
    harness.answer_login(
        409, {"error": {"field": "customer_id", "message": "the session belongs to another member"}}
    )
    assert harness.endpoint.last.session_id is None  # a new session, not the other member's
    harness.endpoint.answer(NEXT_SESSION, CSRF_2)
    assert json.loads(harness.post.last.body)["session_id"] == NEXT_SESSION
    harness.answer_login(200, {"customer_id": "c-43", "session_id": NEXT_SESSION})
    assert harness.resolved == ["c-43"] and harness.members.current() == "c-43"


def test_a_login_answered_after_a_logout_rejects() -> None:
    harness = Harness()
    harness.login({"customer_id": "c-42", "token": "jwt"})
    harness.endpoint.answer(SESSION, CSRF_1)
    login = harness.post.last
    harness.members.logout(lambda: None)
    login.on_response(200, {"customer_id": "c-42", "session_id": SESSION}, None)
    assert [str(error) for error in harness.rejected] == [
        "member.login(): the session ended while logging in"
    ]
    assert harness.members.current() is None
