"""Small fakes for the core's ports: cookies, console, the session endpoint, the events endpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from allegro_sdk.core.ports import Console, Cookies

# The fakes' "now" (epoch ms); the fake collector's tokens expire 30 minutes after it.
FAKE_NOW = 1_790_000_000_000
TOKEN_LIFETIME_MS = 30 * 60 * 1000

OnResponse = Callable[[int, "dict[str, object] | None"], None]
OnFailure = Callable[[str], None]


class FakeCookies(Cookies):
    """A dict-backed cookie jar that records every write with its max age."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(initial or {})
        self.writes: list[tuple[str, str, int]] = []

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        self.values[name] = value
        self.writes.append((name, value, max_age_seconds))

    def writes_of(self, name: str) -> list[tuple[str, int]]:
        return [(value, max_age) for key, value, max_age in self.writes if key == name]


class FakeConsole(Console):
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@dataclass
class SessionRequest:
    device_id: str
    session_id: str | None
    on_response: OnResponse
    on_failure: OnFailure


@dataclass
class FakeSessionEndpoint:
    """Stands in for `POST /v1/sessions`: records each request; the test answers it later."""

    requests: list[SessionRequest] = field(default_factory=list)

    def __call__(
        self,
        device_id: str,
        session_id: str | None,
        on_response: OnResponse,
        on_failure: OnFailure,
    ) -> None:
        self.requests.append(SessionRequest(device_id, session_id, on_response, on_failure))

    @property
    def last(self) -> SessionRequest:
        return self.requests[-1]

    def answer(
        self,
        session_id: str,
        csrf_token: str,
        status: int = 201,
        expires_at: int = FAKE_NOW + TOKEN_LIFETIME_MS,
    ) -> None:
        body: dict[str, object] = {
            "session_id": session_id,
            "csrf_token": csrf_token,
            "expires_at": expires_at,
        }
        self.last.on_response(status, body)


@dataclass
class EventPost:
    url: str
    body: str
    headers: dict[str, str]
    on_response: OnResponse
    on_failure: OnFailure


@dataclass
class FakePostJson:
    """Stands in for the transport's post_json: records each POST; the test answers it later."""

    posts: list[EventPost] = field(default_factory=list)

    def __call__(
        self,
        url: str,
        body: str,
        headers: dict[str, str],
        on_response: OnResponse,
        on_failure: OnFailure,
    ) -> None:
        self.posts.append(EventPost(url, body, dict(headers), on_response, on_failure))

    @property
    def last(self) -> EventPost:
        return self.posts[-1]


class Ids:
    """A deterministic id source handing out the given ids in order."""

    def __init__(self, *ids: str) -> None:
        self._ids = list(ids)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self._ids.pop(0)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now
