"""Device and session identity: the two cookies of the spec, and single-flight session creation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ids import is_uuid4
from .protocol import DEVICE_COOKIE, SESSION_COOKIE, TOKEN_COOKIE

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import Clock, Cookies, NewId, OnFailure, OnResponse

    # (device id, session id to renew or None, that session's last token as proof or None, ...)
    RequestSession = Callable[[str, "str | None", "str | None", OnResponse, OnFailure], None]

DEVICE_MAX_AGE = 10 * 365 * 24 * 3600  # 10 years, as the spec says
SESSION_MAX_AGE = 30 * 60  # 30 minutes, extended by every track()
# A CSRF token this close to its expiry is renewed before use rather than sent and refused.
TOKEN_RENEWAL_MARGIN_MS = 60 * 1000
# TOKEN_COOKIE holds "<session id>|<its last CSRF token>|<the token's expiry, epoch ms>|<1 if a
# member is logged in to the session, else 0>|<the device id the token is for>": the next page and
# another tab use that token as it is while it is valid for the device cookie's id, and prove they
# hold the session with it to renew it (docs/sessions.md).
# The token's own format is the collector's business: the SDK never reads inside it.
PROOF_SEPARATOR = "|"
TOKEN_COOKIE_MAX_AGE = 2 * SESSION_MAX_AGE  # re-written with every token, at most 30 min apart


class Session:
    """A session the collector issued: its id, the device it belongs to, and its CSRF token."""

    def __init__(
        self, session_id: str, device_id: str, csrf_token: str, token_expires_at: int
    ) -> None:
        self.session_id = session_id
        self.device_id = device_id
        self.csrf_token = csrf_token
        self.token_expires_at = token_expires_at  # epoch ms
        self.active_until = 0  # epoch ms: the session cookie's expiry, as last written
        self.customer_id: str | None = None  # the member the collector bound to it, if any


class SessionManager:
    """Gives every caller a valid session, asking the collector at most once at a time."""

    def __init__(
        self,
        cookies: Cookies,
        new_id: NewId,
        request_session: RequestSession,
        clock: Clock,
    ) -> None:
        self._cookies = cookies
        self._last_proof: str | None = None  # this tab's, should the token cookie be lost
        self._new_id = new_id
        self._request_session = request_session
        self._clock = clock
        self._current: Session | None = None
        self._waiting: list[tuple[Callable[[Session], None], OnFailure]] = []
        self._listeners: list[Callable[[Session], None]] = []
        self._refused_token: str | None = None  # forget()'s: never taken from the cookie again
        # A session with a member is taken from the cookies only where this tab's storage names
        # its member (bootstrap sets `Members.current`); elsewhere (a subdomain sharing the
        # cookies, not the storage) it is renewed, and the answer names the member.
        self.member_known: Callable[[], object] = lambda: None

    def add_listener(self, listener: Callable[[Session], None]) -> None:
        """Tell `listener` of every session the collector answers with (its member, say)."""
        self._listeners.append(listener)

    def device_id(self) -> str:
        """The device cookie's id; a missing or malformed one is replaced by a new UUID v4."""
        existing = self._cookies.get(DEVICE_COOKIE)
        if is_uuid4(existing):
            return str(existing)
        device_id = self._new_id()
        self._cookies.set(DEVICE_COOKIE, device_id, DEVICE_MAX_AGE)
        return device_id

    def with_session(self, use: Callable[[Session], None], fail: OnFailure) -> None:
        """Call `use` with a live session, creating or renewing one first when needed.

        The session cookie is the source of truth across tabs: a session another tab started is
        renewed (same id, a token for this tab), an expired one is replaced. Idle time is also
        checked against the clock, so a session idle for 30 minutes ends even where the cookie
        outlived it.
        """
        now = self._clock()
        current = self._current
        cookie_session = self._cookies.get(SESSION_COOKIE)
        if current is not None and now >= current.active_until:
            current = self._current = None
            cookie_session = None
        if (
            current is not None
            and cookie_session == current.session_id
            and self._cookies.get(DEVICE_COOKIE) == current.device_id
            and now < current.token_expires_at - TOKEN_RENEWAL_MARGIN_MS
        ):
            self._extend(current, now)
            use(current)
            return
        stored = None if self._waiting else self._stored_session(cookie_session, now)
        if stored is not None:
            self._current = stored
            self._extend(stored, now)
            use(stored)
            return
        self._waiting.append((use, fail))
        if len(self._waiting) == 1:
            self._start_request(cookie_session)

    def forget(self) -> None:
        """Drop the in-memory session so the next call asks the collector again (its token was
        refused: the same token in the cookie is not used again)."""
        if self._current is not None:
            self._refused_token = self._current.csrf_token
        self._current = None

    def end(self) -> None:
        """End the session for every tab: the next call starts a new one."""
        self._current = None
        self._last_proof = None
        self._cookies.set(SESSION_COOKIE, "", 0)
        self._cookies.set(TOKEN_COOKIE, "", 0)

    def adopt(self, session: Session) -> None:
        """Use `session`, which the collector issued outside a session request (a login's
        rotation: it has a member), as the session of every tab: the cookies name it and carry
        its token."""
        self._current = session
        self._extend(session, self._clock())
        self._note_token(session, "1")

    def held(self) -> list[str] | None:
        """[session id, its last token] for the session the cookie names, if this browser has it."""
        cookie_session = self._cookies.get(SESSION_COOKIE)
        if cookie_session is None:
            return None
        for proof in (self._cookies.get(TOKEN_COOKIE), self._last_proof):
            session_id, _, rest = (proof or "").partition(PROOF_SEPARATOR)
            token = rest.partition(PROOF_SEPARATOR)[0]
            if session_id == cookie_session and token:
                return [session_id, token]
        return None

    def cookie_session_id(self) -> str | None:
        """The session every tab of the site shares now (the cookie), if any."""
        return self._cookies.get(SESSION_COOKIE)

    def _note_token(self, session: Session, member: str) -> None:
        self._last_proof = PROOF_SEPARATOR.join(
            (
                session.session_id,
                session.csrf_token,
                str(session.token_expires_at),
                member,
                session.device_id,
            )
        )
        self._cookies.set(TOKEN_COOKIE, self._last_proof, TOKEN_COOKIE_MAX_AGE)

    def _stored_session(self, cookie_session: str | None, now: int) -> Session | None:
        """The session the cookies name, with the token another page of this browser was given,
        when that token is still valid: no request (docs/sessions.md, "A token per browser")."""
        if cookie_session is None:
            return None
        try:
            session_id, token, expiry, member, device_id = (
                self._cookies.get(TOKEN_COOKIE) or ""
            ).split(PROOF_SEPARATOR)
            expires_at = int(expiry)
        except ValueError:
            return None  # none, or one an earlier version wrote: "<session id>|<token>"
        if (
            session_id != cookie_session
            or token in ("", self._refused_token)
            or now >= expires_at - TOKEN_RENEWAL_MARGIN_MS
            or device_id != self._cookies.get(DEVICE_COOKIE)
            or (member != "0" and not self.member_known())
        ):
            return None
        return Session(session_id, device_id, token, expires_at)

    def _extend(self, session: Session, now: int) -> None:
        self._cookies.set(SESSION_COOKIE, session.session_id, SESSION_MAX_AGE)
        session.active_until = now + SESSION_MAX_AGE * 1000

    def _start_request(self, cookie_session: str | None) -> None:
        device_id = self.device_id()
        # A session the cookie names (another tab's, or a reload's) is renewed, not replaced,
        # when this browser can prove it holds it (its last token, noted in storage).
        self._current = None
        cookie_before = self._cookies.get(SESSION_COOKIE)
        held = self.held() if cookie_session is not None else None

        def answered(
            status: int, body: dict[str, object] | None, retry_after: float | None = None
        ) -> None:
            cookie_now = self._cookies.get(SESSION_COOKIE)
            if cookie_now != cookie_before:
                # The session was ended (end() here, or another tab's logout: both delete or
                # replace the cookie) while this was asked: the answer is stale; ask again, for
                # what the cookie says now. A new session asked for before end() is kept.
                self._start_request(cookie_now)
                return
            session_id = body.get("session_id") if body else None
            token = body.get("csrf_token") if body else None
            expires_at = body.get("expires_at") if body else None
            if status == 201 and isinstance(session_id, str) and isinstance(token, str):
                now = self._clock()
                if not isinstance(expires_at, int) or isinstance(expires_at, bool):
                    expires_at = now + SESSION_MAX_AGE * 1000
                session = Session(session_id, device_id, token, expires_at)
                customer_id = body.get("customer_id") if body else None
                session.customer_id = customer_id if isinstance(customer_id, str) else None
                self._current = session
                # Re-writing the device cookie with each new session keeps an active device's id
                # past browsers' caps on script-set cookie lifetimes (docs/sessions.md).
                self._cookies.set(DEVICE_COOKIE, device_id, DEVICE_MAX_AGE)
                self._extend(session, now)
                self._note_token(session, "0" if session.customer_id is None else "1")
                for listener in self._listeners:
                    listener(session)
                self._settle(lambda use, fail: use(session))
            else:
                message = f"the collector did not create a session (HTTP {status})"
                self._settle(lambda use, fail: fail(message))

        def failed(message: str) -> None:
            self._settle(lambda use, fail: fail(f"could not reach the collector: {message}"))

        self._request_session(
            device_id,
            cookie_session,
            None if held is None else held[1],
            answered,
            failed,
        )

    def _settle(self, each: Callable[[Callable[[Session], None], OnFailure], None]) -> None:
        waiting, self._waiting = self._waiting, []
        for use, fail in waiting:
            each(use, fail)
