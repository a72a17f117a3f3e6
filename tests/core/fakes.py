"""Small fakes for the core's ports: cookies, console, the session endpoint, the events endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

# The fakes' "now" (epoch ms); the fake collector's tokens expire 30 minutes after it.
FAKE_NOW = 1_790_000_000_000
TOKEN_LIFETIME_MS = 30 * 60 * 1000

OnResponse = Callable[[int, "dict[str, object] | None"], None]
OnFailure = Callable[[str], None]


class FakeCookies:
    """A dict-backed cookie jar that records every write with its max age."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(initial or {})
        self.writes: list[tuple[str, str, int]] = []

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        if max_age_seconds > 0:
            self.values[name] = value
        else:
            self.values.pop(name, None)  # Max-Age=0 deletes, as in browsers
        self.writes.append((name, value, max_age_seconds))

    def writes_of(self, name: str) -> list[tuple[str, int]]:
        return [(value, max_age) for key, value, max_age in self.writes if key == name]


class FakeConsole:
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
    proof: str | None
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
        proof: str | None,
        on_response: OnResponse,
        on_failure: OnFailure,
    ) -> None:
        self.requests.append(SessionRequest(device_id, session_id, proof, on_response, on_failure))

    @property
    def last(self) -> SessionRequest:
        return self.requests[-1]

    def answer(
        self,
        session_id: str,
        csrf_token: str,
        status: int = 201,
        expires_at: int = FAKE_NOW + TOKEN_LIFETIME_MS,
        customer_id: str | None = None,
    ) -> None:
        body: dict[str, object] = {
            "session_id": session_id,
            "csrf_token": csrf_token,
            "expires_at": expires_at,
            "customer_id": customer_id,
        }
        self.last.on_response(status, body)


@dataclass
class EventPost:
    url: str
    body: str
    headers: dict[str, str]
    on_response: OnResponse
    on_failure: OnFailure
    leaving: bool = False


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
        leaving: bool = False,
    ) -> None:
        self.posts.append(EventPost(url, body, dict(headers), on_response, on_failure, leaving))

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


class FakeStore:
    """localStorage as a dict; `broken` makes every call raise, like disabled storage."""

    def __init__(self, values: dict[str, object] | None = None, broken: bool = False) -> None:
        self.values: dict[str, object] = dict(values or {})
        self.broken = broken

    def _check(self) -> None:
        if self.broken:
            raise RuntimeError("QuotaExceededError")

    def stored_keys(self) -> list[str]:
        self._check()
        return list(self.values)

    def load(self, key: str) -> object:
        self._check()
        return self.values.get(key)

    def save(self, key: str, value: object) -> None:
        self._check()
        self.values[key] = json.loads(json.dumps(value))

    def remove(self, key: str) -> None:
        self._check()
        self.values.pop(key, None)


class FakeTimers:
    """setTimeout: keeps (due time, task); the test advances time and runs what is due."""

    def __init__(self) -> None:
        self.now = 0
        self.pending: list[tuple[int, int, Callable[[], None]]] = []
        self._order = 0

    def __call__(self, delay_ms: int, task: Callable[[], None]) -> None:
        self._order += 1
        self.pending.append((self.now + delay_ms, self._order, task))

    def delays(self) -> list[int]:
        return sorted(due - self.now for due, _order, _task in self.pending)

    def advance(self, ms: int) -> None:
        self.now += ms
        while True:
            due = sorted(item for item in self.pending if item[0] <= self.now)
            if not due:
                return
            first = due[0]
            self.pending.remove(first)
            first[2]()


class FakeLocks:
    """Web Locks as the core sees them: names in `others` are held by other live tabs. Grants
    come at once, or, with `manual`, when the test calls grant()."""

    def __init__(self, others: tuple[str, ...] = (), manual: bool = False) -> None:
        self.held: set[str] = set()
        self.others = set(others)
        self.manual = manual
        self.pending: list[Callable[[], None]] = []

    def hold(self, name: str, held: Callable[[], None]) -> None:
        def grant() -> None:
            self.held.add(name)
            held()

        if self.manual:
            self.pending.append(grant)
        else:
            grant()

    def grant(self) -> None:
        pending, self.pending = self.pending, []
        for grant in pending:
            grant()

    def take_if_free(self, name: str, answer: Callable[[bool], None]) -> None:
        free = name not in self.others and name not in self.held
        if free:
            self.held.add(name)
        answer(free)

    def release(self, name: str) -> None:
        self.held.discard(name)
