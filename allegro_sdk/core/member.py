"""allegro.member: log a verified member in to the session, out again, and say who it is.

The collector is the authority: it binds the member to the session after checking the token
the site's backend signed, and stamps `customer_id` on stored events itself. The SDK keeps a
note of the member per session (`[session_id, customer_id]` in storage) so that every tab, and
the next page, knows who is logged in for as long as the session lives (docs/member.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DeliveryError, InvalidCallError, TrackingError
from .event import describe
from .protocol import (
    CSRF_HEADER,
    MAX_TEXT_CHARS,
    MEMBER_LOGIN_PATH,
    MEMBER_LOGOUT_PATH,
    error_text,
    member_login,
    member_logout,
)
from .session import Session
from .stored_note import StoredNote

if TYPE_CHECKING:
    from collections.abc import Callable

    from .ports import Console, KeyValueStore, PostJson
    from .session import SessionManager

MEMBER_KEY = "allegro_member"
USAGE = "member.login() needs { customer_id, token }: the token your backend signed"
# A refused CSRF token (403) or a session that ended (409 on session_id) is retried once on a
# fresh session; every other refusal is final.
RETRY_ONCE = (403, 409)


def ignore_answer(*answer: object) -> None:
    pass


def field_of(body: dict[str, object] | None) -> object:
    error = body.get("error") if body else None
    return error.get("field") if isinstance(error, dict) else None


def check_credentials(credentials: object) -> tuple[str, str]:
    if not isinstance(credentials, dict):
        raise InvalidCallError(f"{USAGE}; got {describe(credentials)}")
    customer_id = credentials.get("customer_id")
    token = credentials.get("token")
    for name, value in (("customer_id", customer_id), ("token", token)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidCallError(f"member.login(): '{name}' must be a non-empty string; {USAGE}")
    assert isinstance(customer_id, str) and isinstance(token, str)
    if len(customer_id) > MAX_TEXT_CHARS:
        raise InvalidCallError(
            f"member.login(): 'customer_id' is {len(customer_id)} characters long; "
            f"the limit is {MAX_TEXT_CHARS}"
        )
    return customer_id, token.strip()


class Members:
    def __init__(
        self,
        collector_url: str,
        sessions: SessionManager,
        post_json: PostJson,
        store: KeyValueStore,
        console: Console,
    ) -> None:
        self._collector_url = collector_url.rstrip("/")
        self._sessions = sessions
        self._post_json = post_json
        self._console = console
        self._note = StoredNote(store, MEMBER_KEY)

    def current(self) -> str | None:
        """The customer id logged in to the live session, or None."""
        note = self._note.load()
        if (
            isinstance(note, list)
            and len(note) == 2
            and note[0] == self._sessions.cookie_session_id()
            and isinstance(note[1], str)
        ):
            return note[1]
        return None

    def login(
        self,
        credentials: object,
        resolve: Callable[[str], None],
        reject: Callable[[TrackingError], None],
    ) -> None:
        """Exactly one of `resolve(customer_id)` or `reject(error)` follows."""
        try:
            customer_id, token = check_credentials(credentials)
        except InvalidCallError as error:
            reject(error)
            return
        current = self.current()
        if current is not None and current != customer_id:
            self._end_session()  # another member: the same as logging out first

        def post(session: Session, retried: bool) -> None:
            def answered(
                status: int, body: dict[str, object] | None, retry_after: float | None = None
            ) -> None:
                if status == 200 and session.session_id != self._sessions.cookie_session_id():
                    # member.logout(), or another member's login, ended the session meanwhile.
                    reject(DeliveryError("member.login(): the session ended while logging in"))
                elif status == 200:
                    member_session = self._adopt(session, body)
                    self._note.save([member_session, customer_id])
                    resolve(customer_id)
                elif status in RETRY_ONCE and not retried:
                    if field_of(body) == "customer_id":
                        self._end_session()  # the session is another member's: start anew
                    else:
                        self._sessions.forget()
                    self._sessions.with_session(lambda fresh: post(fresh, True), failed)
                else:
                    problem = error_text(body.get("error")) if body else f"HTTP {status}"
                    reject(DeliveryError("member.login() was refused: " + problem))

            self._post_json(
                self._collector_url + MEMBER_LOGIN_PATH,
                member_login(session.device_id, session.session_id, customer_id, token),
                {CSRF_HEADER: session.csrf_token},
                answered,
                lambda message: failed("could not reach the collector: " + message),
                False,  # not a page being left: an ordinary request
            )

        def failed(message: str) -> None:
            reject(DeliveryError("member.login() failed: " + message))

        self._sessions.with_session(lambda session: post(session, False), failed)

    def logout(self, done: Callable[[], None]) -> None:
        """Forget the member and start a new session; `done` follows either way."""
        self._end_session()

        def not_started(message: str) -> None:
            self._console.warn(
                f"member.logout(): logged out; a new session will start later ({message})"
            )
            done()

        self._sessions.with_session(lambda session: done(), not_started)

    def forget(self) -> None:
        """Log out on this device only, sending nothing (the visitor has not consented)."""
        self._note.remove()
        self._sessions.end()

    def _end_session(self) -> None:
        """End the session here and at the collector, which then refuses to renew it: a renewal
        another tab has in flight cannot bring the member back."""
        held = self._sessions.held()
        if held is not None:
            self._post_json(
                self._collector_url + MEMBER_LOGOUT_PATH,
                member_logout(self._sessions.device_id(), held[0]),
                {CSRF_HEADER: held[1]},
                ignore_answer,
                ignore_answer,  # the session ends here anyway; there it lapses in 30 minutes
                False,
            )
        self._note.remove()
        self._sessions.end()

    def _adopt(self, session: Session, body: dict[str, object] | None) -> str:
        """The collector moves a member to a new session at login (so that whoever planted the
        anonymous session's cookies gains nothing): use it from now on, in every tab."""
        new_id = body.get("session_id") if body else None
        token = body.get("csrf_token") if body else None
        expires_at = body.get("expires_at") if body else None
        if (
            not isinstance(new_id, str)
            or new_id == session.session_id
            or not isinstance(token, str)
            or not isinstance(expires_at, int)
        ):
            return session.session_id
        self._sessions.adopt(Session(new_id, session.device_id, token, expires_at))
        return new_id

    def learn(self, session: Session) -> None:
        """A session answer names its member (a reload, another tab's login): note it."""
        if session.customer_id is not None:
            self._note.save([session.session_id, session.customer_id])
