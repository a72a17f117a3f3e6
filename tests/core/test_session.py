from __future__ import annotations

from collections.abc import Callable

from allegro_sdk.core.protocol import DEVICE_COOKIE, SESSION_COOKIE, TOKEN_COOKIE
from allegro_sdk.core.session import DEVICE_MAX_AGE, SESSION_MAX_AGE, Session, SessionManager

from .fakes import FAKE_NOW, TOKEN_LIFETIME_MS, Clock, FakeCookies, FakeSessionEndpoint, Ids

DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
NEW_DEVICE = "11111111-2222-4333-8444-555555555555"
SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"
OTHER_SESSION = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


class Waiter:
    """One with_session caller: remembers what it was given."""

    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.failures: list[str] = []

    def use(self, session: Session) -> None:
        self.sessions.append(session)

    def fail(self, message: str) -> None:
        self.failures.append(message)


def make(
    cookies: dict[str, str] | None = None, *ids: str
) -> tuple[SessionManager, FakeCookies, FakeSessionEndpoint, Ids]:
    jar = FakeCookies(cookies)
    endpoint = FakeSessionEndpoint()
    new_id = Ids(*(ids or (NEW_DEVICE,)))
    return SessionManager(jar, new_id, endpoint, Clock(FAKE_NOW)), jar, endpoint, new_id


def ask(manager: SessionManager) -> Waiter:
    waiter = Waiter()
    manager.with_session(waiter.use, waiter.fail)
    return waiter


def test_lifetimes() -> None:
    assert SESSION_MAX_AGE == 1800
    assert DEVICE_MAX_AGE == 315360000
    assert (DEVICE_COOKIE, SESSION_COOKIE) == ("allegro_device_id", "allegro_session_id")


# --- device id ----------------------------------------------------------------------------------


def test_device_id_is_created_once_and_kept() -> None:
    manager, jar, _, new_id = make()
    assert manager.device_id() == NEW_DEVICE
    assert manager.device_id() == NEW_DEVICE
    assert new_id.calls == 1
    assert jar.values[DEVICE_COOKIE] == NEW_DEVICE
    assert jar.writes_of(DEVICE_COOKIE) == [(NEW_DEVICE, 315360000)]


def test_existing_valid_device_id_is_kept() -> None:
    manager, jar, _, new_id = make({DEVICE_COOKIE: DEVICE})
    assert manager.device_id() == DEVICE
    assert new_id.calls == 0
    assert jar.writes == []


def test_malformed_device_id_is_replaced() -> None:
    for bad in ["", "garbage", DEVICE.upper(), "0f1e2d3c-4b5a-1978-8695-a4b3c2d1e0f9"]:
        manager, jar, _, new_id = make({DEVICE_COOKIE: bad})
        assert manager.device_id() == NEW_DEVICE
        assert new_id.calls == 1
        assert jar.values[DEVICE_COOKIE] == NEW_DEVICE
        assert jar.writes_of(DEVICE_COOKIE) == [(NEW_DEVICE, DEVICE_MAX_AGE)]


# --- creating a session -------------------------------------------------------------------------


def test_first_call_requests_a_session_for_the_device() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    waiter = ask(manager)
    assert len(endpoint.requests) == 1
    assert endpoint.last.device_id == DEVICE
    assert endpoint.last.session_id is None
    assert waiter.sessions == []  # nothing until the collector answers
    endpoint.answer(SESSION, "token-1")
    assert len(waiter.sessions) == 1
    session = waiter.sessions[0]
    assert (session.session_id, session.device_id, session.csrf_token) == (
        SESSION,
        DEVICE,
        "token-1",
    )
    assert waiter.failures == []


def test_first_call_without_a_device_creates_one_and_asks_with_it() -> None:
    manager, jar, endpoint, new_id = make()
    waiter = ask(manager)
    assert endpoint.last.device_id == NEW_DEVICE
    endpoint.answer(SESSION, "token-1")
    assert waiter.sessions[0].device_id == NEW_DEVICE
    assert new_id.calls == 1
    assert jar.values[DEVICE_COOKIE] == NEW_DEVICE


def test_ten_calls_before_the_answer_make_one_request() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    waiters = [ask(manager) for _ in range(10)]
    assert len(endpoint.requests) == 1
    assert all(waiter.sessions == [] for waiter in waiters)
    endpoint.answer(SESSION, "token-1")
    assert len(endpoint.requests) == 1
    first = waiters[0].sessions[0]
    for waiter in waiters:
        assert len(waiter.sessions) == 1
        assert waiter.sessions[0] is first
        assert waiter.failures == []


def test_waiters_are_served_in_call_order() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    order: list[int] = []

    def waiter(index: int) -> Callable[[Session], None]:
        return lambda session: order.append(index)

    for index in range(5):
        manager.with_session(waiter(index), lambda message: None)
    endpoint.answer(SESSION, "token-1")
    assert order == [0, 1, 2, 3, 4]


def test_cookies_written_on_a_new_session() -> None:
    manager, jar, endpoint, _ = make()
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    assert jar.values[SESSION_COOKIE] == SESSION
    assert jar.writes_of(SESSION_COOKIE) == [(SESSION, 1800)]
    assert jar.writes_of(DEVICE_COOKIE)
    assert all(max_age == 315360000 for _, max_age in jar.writes_of(DEVICE_COOKIE))
    assert {value for value, _ in jar.writes_of(DEVICE_COOKIE)} == {NEW_DEVICE}


def test_device_cookie_is_rewritten_with_each_new_session() -> None:
    manager, jar, endpoint, new_id = make({DEVICE_COOKIE: DEVICE})
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    assert jar.writes_of(DEVICE_COOKIE) == [(DEVICE, DEVICE_MAX_AGE)]
    assert new_id.calls == 0


def test_second_call_reuses_the_session_without_a_request_and_extends_the_cookie() -> None:
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    first = ask(manager)
    endpoint.answer(SESSION, "token-1")
    writes_before = len(jar.writes_of(SESSION_COOKIE))
    second = ask(manager)
    assert len(endpoint.requests) == 1
    assert second.sessions == first.sessions  # the same Session, given at once
    assert second.sessions[0] is first.sessions[0]
    assert jar.writes_of(SESSION_COOKIE)[writes_before:] == [(SESSION, 1800)]


def test_every_reuse_extends_the_cookie() -> None:
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    for _ in range(3):
        ask(manager)
    assert jar.writes_of(SESSION_COOKIE) == [(SESSION, 1800)] * 4
    assert len(endpoint.requests) == 1


def test_a_session_cookie_from_a_reload_is_renewed() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    waiter = ask(manager)
    assert endpoint.last.session_id == SESSION
    assert endpoint.last.device_id == DEVICE
    endpoint.answer(SESSION, "token-2")
    assert waiter.sessions[0].session_id == SESSION
    assert waiter.sessions[0].csrf_token == "token-2"


def test_cookie_changed_by_another_tab_renews_that_session() -> None:
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    jar.values[SESSION_COOKIE] = OTHER_SESSION  # another tab made a new session
    waiter = ask(manager)
    assert len(endpoint.requests) == 2
    assert endpoint.last.session_id == OTHER_SESSION
    assert endpoint.last.device_id == DEVICE
    assert waiter.sessions == []
    endpoint.answer(OTHER_SESSION, "token-other")
    assert waiter.sessions[0].session_id == OTHER_SESSION
    assert waiter.sessions[0].csrf_token == "token-other"
    assert jar.values[SESSION_COOKIE] == OTHER_SESSION
    # And from then on the renewed session is reused.
    again = ask(manager)
    assert again.sessions[0] is waiter.sessions[0]
    assert len(endpoint.requests) == 2


def test_expired_session_cookie_asks_for_a_new_session() -> None:
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    del jar.values[SESSION_COOKIE]  # 30 minutes without activity: the browser dropped it
    ask(manager)
    assert len(endpoint.requests) == 2
    assert endpoint.last.session_id is None


def test_device_cookie_changed_asks_again_with_the_cookies_device() -> None:
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    jar.values[DEVICE_COOKIE] = NEW_DEVICE
    waiter = ask(manager)
    assert len(endpoint.requests) == 2
    assert endpoint.last.device_id == NEW_DEVICE
    endpoint.answer(OTHER_SESSION, "token-2")
    assert waiter.sessions[0].device_id == NEW_DEVICE


def test_renewal_answer_with_a_new_id_is_used() -> None:
    # The collector answers a stale session id with a new session; the SDK takes the new one.
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    waiter = ask(manager)
    endpoint.answer(OTHER_SESSION, "token-new")
    assert waiter.sessions[0].session_id == OTHER_SESSION
    assert jar.values[SESSION_COOKIE] == OTHER_SESSION
    assert ask(manager).sessions[0] is waiter.sessions[0]
    assert len(endpoint.requests) == 1


# --- failures -----------------------------------------------------------------------------------


def test_non_201_answer_fails_every_waiter() -> None:
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    waiters = [ask(manager) for _ in range(3)]
    endpoint.last.on_response(500, {"error": {"field": None, "message": "down"}})
    for waiter in waiters:
        assert waiter.sessions == []
        assert waiter.failures == ["the collector did not create a session (HTTP 500)"]
    assert SESSION_COOKIE not in jar.values


def test_400_without_a_body_fails() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    waiter = ask(manager)
    endpoint.last.on_response(400, None)
    assert waiter.failures == ["the collector did not create a session (HTTP 400)"]


def test_201_with_a_malformed_body_fails() -> None:
    bodies: list[dict[str, object] | None] = [
        None,
        {},
        {"session_id": SESSION},
        {"session_id": 1, "csrf_token": "t"},
    ]
    for body in bodies:
        manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
        waiter = ask(manager)
        endpoint.last.on_response(201, body)
        assert waiter.failures == ["the collector did not create a session (HTTP 201)"]
        assert waiter.sessions == []


def test_network_failure_fails_every_waiter() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    waiters = [ask(manager) for _ in range(3)]
    endpoint.last.on_failure("connection refused")
    for waiter in waiters:
        assert waiter.failures == ["could not reach the collector: connection refused"]
        assert waiter.sessions == []


def test_after_a_failure_the_next_call_asks_again() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    first = ask(manager)
    endpoint.last.on_failure("offline")
    second = ask(manager)
    assert len(endpoint.requests) == 2
    endpoint.answer(SESSION, "token-1")
    assert second.sessions[0].session_id == SESSION
    assert first.sessions == []
    assert first.failures == ["could not reach the collector: offline"]


def test_failure_during_a_renewal_does_not_leave_the_old_session_in_use() -> None:
    manager, jar, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    jar.values[SESSION_COOKIE] = OTHER_SESSION
    failed = ask(manager)
    endpoint.last.on_failure("offline")
    assert failed.failures == ["could not reach the collector: offline"]
    ask(manager)
    assert len(endpoint.requests) == 3
    assert endpoint.last.session_id == OTHER_SESSION


# --- forget and re-entrancy ---------------------------------------------------------------------


def test_forget_forces_a_new_request() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    ask(manager)
    endpoint.answer(SESSION, "token-1")
    manager.forget()
    waiter = ask(manager)
    assert len(endpoint.requests) == 2
    assert endpoint.last.session_id == SESSION  # the cookie's session is renewed
    endpoint.answer(SESSION, "token-2")
    assert waiter.sessions[0].csrf_token == "token-2"


def test_forget_before_any_session_is_harmless() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    manager.forget()
    ask(manager)
    assert len(endpoint.requests) == 1


def test_a_waiter_asking_again_while_being_served_gets_the_session_at_once() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    nested = Waiter()

    def use(session: Session) -> None:
        manager.with_session(nested.use, nested.fail)

    manager.with_session(use, lambda message: None)
    endpoint.answer(SESSION, "token-1")
    assert len(endpoint.requests) == 1
    assert [session.session_id for session in nested.sessions] == [SESSION]


def test_a_waiter_retrying_from_its_failure_starts_a_new_request() -> None:
    manager, _, endpoint, _ = make({DEVICE_COOKIE: DEVICE})
    retried = Waiter()

    def fail(message: str) -> None:
        manager.with_session(retried.use, retried.fail)

    manager.with_session(lambda session: None, fail)
    endpoint.last.on_failure("offline")
    assert len(endpoint.requests) == 2
    endpoint.answer(SESSION, "token-1")
    assert [session.session_id for session in retried.sessions] == [SESSION]


def test_a_synchronous_answer_is_handled() -> None:
    jar = FakeCookies({DEVICE_COOKIE: DEVICE})
    calls: list[tuple[str, str | None]] = []

    def answer_at_once(
        device_id: str,
        session_id: str | None,
        proof: str | None,
        on_response: object,
        on_failure: object,
    ) -> None:
        calls.append((device_id, session_id))
        assert callable(on_response)
        on_response(201, {"session_id": SESSION, "csrf_token": "t"})

    manager = SessionManager(jar, Ids(), answer_at_once, Clock(FAKE_NOW))
    first = ask(manager)
    second = ask(manager)
    assert calls == [(DEVICE, None)]
    assert first.sessions[0] is second.sessions[0]


# --- time: idle expiry and token renewal ------------------------------------------------------

MINUTE_MS = 60 * 1000


def timed() -> tuple[SessionManager, FakeCookies, FakeSessionEndpoint, Clock]:
    jar = FakeCookies({"allegro_device_id": DEVICE})
    endpoint = FakeSessionEndpoint()
    clock = Clock(FAKE_NOW)
    manager = SessionManager(jar, Ids(), endpoint, clock)
    ask(manager)
    endpoint.answer(SESSION, "t1", expires_at=FAKE_NOW + 24 * 60 * MINUTE_MS)
    return manager, jar, endpoint, clock


def test_a_session_idle_29_minutes_is_kept_and_extended() -> None:
    manager, jar, endpoint, clock = timed()
    clock.now += 29 * MINUTE_MS
    waiter = ask(manager)
    assert len(endpoint.requests) == 1
    assert waiter.sessions[0].session_id == SESSION
    assert jar.writes_of("allegro_session_id")[-1] == (SESSION, 1800)
    # Extended: 29 more minutes later it is still the same session.
    clock.now += 29 * MINUTE_MS
    assert ask(manager).sessions[0].session_id == SESSION
    assert len(endpoint.requests) == 1


def test_a_session_idle_31_minutes_is_replaced() -> None:
    manager, _jar, endpoint, clock = timed()
    clock.now += 31 * MINUTE_MS
    waiter = ask(manager)
    assert len(endpoint.requests) == 2
    # A new session: the expired one is not offered for renewal, even if its cookie lingers.
    assert endpoint.last.session_id is None
    endpoint.answer("new-session", "t2", expires_at=FAKE_NOW + 24 * 60 * MINUTE_MS)
    assert waiter.sessions[0].session_id == "new-session"


def test_a_token_about_to_expire_is_renewed_before_use() -> None:
    jar = FakeCookies({"allegro_device_id": DEVICE})
    endpoint = FakeSessionEndpoint()
    clock = Clock(FAKE_NOW)
    manager = SessionManager(jar, Ids(), endpoint, clock)
    ask(manager)
    endpoint.answer(SESSION, "t1", expires_at=FAKE_NOW + 10 * MINUTE_MS)
    clock.now += 9 * MINUTE_MS + 30_000  # 30 s before the token's expiry
    waiter = ask(manager)
    assert len(endpoint.requests) == 2
    assert endpoint.last.session_id == SESSION  # renewed: same session, fresh token
    endpoint.answer(SESSION, "t2", expires_at=clock.now + 30 * MINUTE_MS)
    assert waiter.sessions[0].csrf_token == "t2"


def test_an_answer_without_expiry_is_taken_as_thirty_minutes() -> None:
    jar = FakeCookies({"allegro_device_id": DEVICE})
    clock = Clock(FAKE_NOW)

    def answer_at_once(
        device_id: str,
        session_id: str | None,
        proof: str | None,
        on_response: object,
        on_failure: object,
    ) -> None:
        assert callable(on_response)
        on_response(201, {"session_id": SESSION, "csrf_token": "t"})

    manager = SessionManager(jar, Ids(), answer_at_once, clock)
    assert ask(manager).sessions[0].token_expires_at == FAKE_NOW + 30 * MINUTE_MS


def test_end_drops_the_session_for_every_tab_and_the_next_call_starts_a_new_one() -> None:
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE})
    endpoint = FakeSessionEndpoint()
    sessions = SessionManager(cookies, Ids(), endpoint, Clock(FAKE_NOW))
    seen: list[Session] = []
    sessions.add_listener(seen.append)
    sessions.with_session(lambda session: None, lambda message: None)
    endpoint.answer(SESSION, "token-1", customer_id="c-42")
    assert sessions.cookie_session_id() == SESSION
    assert [(s.session_id, s.customer_id) for s in seen] == [(SESSION, "c-42")]
    sessions.end()
    assert sessions.cookie_session_id() is None
    sessions.with_session(lambda session: None, lambda message: None)
    assert endpoint.last.session_id is None  # a new session, not a renewal
    assert cookies.writes_of(SESSION_COOKIE)[-1] == ("", 0)


def token_cookie(session: str, token: str, expires_at: int, member: str, device: str) -> str:
    return "|".join((session, token, str(expires_at), member, device))


def next_page(
    cookies: FakeCookies, now: int = FAKE_NOW
) -> tuple[SessionManager, FakeSessionEndpoint]:
    """Another page (or tab) of the same browser: the cookies, nothing in memory."""
    endpoint = FakeSessionEndpoint()
    return SessionManager(cookies, Ids(NEW_DEVICE), endpoint, Clock(now)), endpoint


def test_the_next_page_uses_the_stored_token_while_it_is_valid() -> None:
    """A reload or another tab takes the session and its token from the cookies, sending no
    request: the token cookie keeps the token's expiry, its device and whether a member is logged
    in beside it. The cookie keeps the session's id beside its token: the token's format is the
    collector's own."""
    token = "opaque-token-of-the-collector"
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE})
    first, first_endpoint = next_page(cookies)
    first.with_session(lambda session: None, lambda message: None)
    assert first_endpoint.last.proof is None
    first_endpoint.answer(SESSION, token, expires_at=FAKE_NOW + TOKEN_LIFETIME_MS)
    stored = token_cookie(SESSION, token, FAKE_NOW + TOKEN_LIFETIME_MS, "0", DEVICE)
    assert cookies.writes_of(TOKEN_COOKIE)[-1] == (stored, 3600)
    later = FAKE_NOW + 10 * 60 * 1000
    second, second_endpoint = next_page(cookies, later)
    waiter = ask(second)
    assert second_endpoint.requests == []
    session = waiter.sessions[0]
    assert (session.session_id, session.device_id, session.csrf_token) == (SESSION, DEVICE, token)
    assert session.token_expires_at == FAKE_NOW + TOKEN_LIFETIME_MS
    assert cookies.writes_of(SESSION_COOKIE)[-1] == (SESSION, 1800)  # extended, as by any use
    assert ask(second).sessions[0] is session


def test_a_stored_token_near_its_expiry_is_renewed_with_it_as_proof() -> None:
    token = "opaque-token-of-the-collector"
    expires_at = FAKE_NOW + TOKEN_LIFETIME_MS
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    cookies.set(TOKEN_COOKIE, token_cookie(SESSION, token, expires_at, "0", DEVICE), 3600)
    manager, endpoint = next_page(cookies, expires_at - 59 * 1000)
    waiter = ask(manager)
    assert (endpoint.last.session_id, endpoint.last.proof) == (SESSION, token)
    endpoint.answer(SESSION, "token-2")
    assert waiter.sessions[0].csrf_token == "token-2"


def test_a_stored_token_is_not_used_for_another_session_or_device() -> None:
    token = "opaque-token-of-the-collector"
    expires_at = FAKE_NOW + TOKEN_LIFETIME_MS
    for session_cookie, device_cookie, stored_device in (
        (OTHER_SESSION, DEVICE, DEVICE),  # another tab's new session: the token is for the old
        (SESSION, NEW_DEVICE, DEVICE),  # the device cookie was replaced since
    ):
        cookies = FakeCookies({DEVICE_COOKIE: device_cookie, SESSION_COOKIE: session_cookie})
        cookies.set(
            TOKEN_COOKIE, token_cookie(SESSION, token, expires_at, "0", stored_device), 3600
        )
        manager, endpoint = next_page(cookies)
        ask(manager)
        assert len(endpoint.requests) == 1
        assert endpoint.last.session_id == session_cookie
        assert endpoint.last.device_id == device_cookie


def test_a_token_cookie_of_an_earlier_version_proves_the_session_in_a_renewal() -> None:
    """Before the expiry was kept beside it the cookie was "<session id>|<token>": still proof."""
    token = "opaque-token-of-the-collector"
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    cookies.set(TOKEN_COOKIE, f"{SESSION}|{token}", 3600)
    manager, endpoint = next_page(cookies)
    assert manager.held() == [SESSION, token]
    ask(manager)
    assert (endpoint.last.session_id, endpoint.last.proof) == (SESSION, token)


def test_a_refused_stored_token_is_not_used_again() -> None:
    """The collector refused the stored token (403: the sender forgets the session): the next
    use renews the session with it as proof instead of sending it again."""
    token = "opaque-token-of-the-collector"
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    cookies.set(
        TOKEN_COOKIE, token_cookie(SESSION, token, FAKE_NOW + TOKEN_LIFETIME_MS, "0", DEVICE), 3600
    )
    manager, endpoint = next_page(cookies)
    assert ask(manager).sessions[0].csrf_token == token
    manager.forget()
    waiter = ask(manager)
    assert (endpoint.last.session_id, endpoint.last.proof) == (SESSION, token)
    endpoint.answer(SESSION, "token-2")
    assert waiter.sessions[0].csrf_token == "token-2"


def test_a_stored_token_of_a_members_session_is_used_only_where_the_member_is_known() -> None:
    """A subdomain sharing the cookies but not the storage renews the session, and the answer
    names the member; where the storage knows the member the token is used as it is."""
    token = "opaque-token-of-the-collector"
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    cookies.set(
        TOKEN_COOKIE, token_cookie(SESSION, token, FAKE_NOW + TOKEN_LIFETIME_MS, "1", DEVICE), 3600
    )
    for member_known, requests in ((False, 1), (True, 0)):
        manager, endpoint = next_page(cookies)
        manager.member_known = lambda: member_known  # noqa: B023 - called at once
        ask(manager)
        assert len(endpoint.requests) == requests


def test_held_names_the_cookies_session_and_its_last_token() -> None:
    token = "opaque-token-of-the-collector"
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE})
    first, first_endpoint = next_page(cookies)
    first.with_session(lambda session: None, lambda message: None)
    first_endpoint.answer(SESSION, token)
    cookies.set(TOKEN_COOKIE, "", 0)  # a browser that copied only the session cookies
    assert next_page(cookies)[0].held() is None
    assert first.held() == [SESSION, token]  # this tab still knows its own token
    cookies.set(SESSION_COOKIE, OTHER_SESSION, 1800)  # another tab's new session
    cookies.set(TOKEN_COOKIE, token_cookie(SESSION, token, FAKE_NOW, "0", DEVICE), 3600)
    assert first.held() is None  # no proof for the session the cookie names now


def test_an_answer_that_another_tab_made_stale_is_asked_again() -> None:
    """Tab B renews session S; tab A logs out (the cookies change) before B's answer comes."""
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    endpoint = FakeSessionEndpoint()
    tab_b = SessionManager(cookies, Ids(), endpoint, Clock(FAKE_NOW))
    got: list[str] = []
    tab_b.with_session(lambda session: got.append(session.session_id), lambda m: None)
    stale = endpoint.last
    cookies.set(SESSION_COOKIE, OTHER_SESSION, 1800)  # tab A's logout made a new session
    stale.on_response(201, {"session_id": SESSION, "csrf_token": "t", "customer_id": "c-42"})
    assert cookies.get(SESSION_COOKIE) == OTHER_SESSION and got == []
    assert endpoint.last.session_id == OTHER_SESSION
    endpoint.answer(OTHER_SESSION, "token-2")
    assert got == [OTHER_SESSION]


def test_an_answer_to_a_request_made_before_end_does_not_bring_the_session_back() -> None:
    cookies = FakeCookies({DEVICE_COOKIE: DEVICE, SESSION_COOKIE: SESSION})
    endpoint = FakeSessionEndpoint()
    sessions = SessionManager(cookies, Ids(), endpoint, Clock(FAKE_NOW))
    got: list[str] = []
    sessions.with_session(lambda session: got.append(session.session_id), lambda m: None)
    stale = endpoint.last
    sessions.end()  # a logout, while the renewal of SESSION is in flight
    sessions.with_session(lambda session: got.append(session.session_id), lambda m: None)
    stale.on_response(201, {"session_id": SESSION, "csrf_token": "t", "customer_id": "c-42"})
    assert cookies.get(SESSION_COOKIE) is None and got == []
    assert endpoint.last.session_id is None  # asked again, for a new session
    endpoint.answer(OTHER_SESSION, "token-2")
    assert got == [OTHER_SESSION, OTHER_SESSION]
    assert cookies.get(SESSION_COOKIE) == OTHER_SESSION
