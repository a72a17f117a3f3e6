"""Helpers shared by the collector tests: settings, a handle on a running collector, events."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import psycopg

from allegro_collector.clock import epoch_ms
from allegro_collector.ingest import WriteGate
from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey

SECRET = "current-test-secret"
PREVIOUS_SECRET = "previous-test-secret"
ADMIN_KEY = "test-admin-key"
ALLOWED_ORIGIN = "http://127.0.0.1:8000"


@dataclass
class FakeClock:
    """Real time unless a test moves it: `clock.now = ...` pins it."""

    now: int | None = None

    def __call__(self) -> int:
        return epoch_ms() if self.now is None else self.now


@dataclass
class Collector:
    settings: Settings
    client: httpx.Client
    clock: FakeClock
    admin_headers: dict[str, str] = field(
        default_factory=lambda: {"Authorization": f"Bearer {ADMIN_KEY}"}
    )

    def new_session(self, device_id: str | None = None) -> dict[str, Any]:
        device_id = device_id or str(uuid.uuid4())
        response = self.client.post("/v1/sessions", json={"device_id": device_id})
        assert response.status_code == 201, response.text
        return {**response.json(), "device_id": device_id}

    def renew(self, session: dict[str, Any], **overrides: Any) -> httpx.Response:
        """Ask to renew `session`, with its token as proof unless `overrides` say otherwise."""
        body = {
            "device_id": session["device_id"],
            "session_id": session["session_id"],
            "csrf_token": session["csrf_token"],
            **overrides,
        }
        return self.client.post("/v1/sessions", json=body)

    def post_events(
        self,
        session: dict[str, Any],
        events: list[Any],
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.client.post(
            "/v1/events",
            json={"events": events},
            headers={"X-Allegro-CSRF": session["csrf_token"], **(headers or {})},
            **kwargs,
        )

    def stored(self, **params: str | int) -> list[dict[str, Any]]:
        response = self.client.get("/v1/events", params=params, headers=self.admin_headers)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    def db_rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Rows of the collector's database, SQLite or PostgreSQL (`?` placeholders for both)."""
        if self.settings.postgres_url is not None:
            with psycopg.connect(self.settings.postgres_url) as connection:
                return connection.execute(sql.replace("?", "%s").encode(), args).fetchall()
        with closing(sqlite3.connect(self.settings.db_path)) as db:
            return db.execute(sql, args).fetchall()


class StartCollector(Protocol):
    """The `start_collector` fixture: serve `create_app(settings, write_gate=...)` over HTTP."""

    def __call__(self, settings: Settings, *, write_gate: WriteGate = ...) -> Collector: ...


def make_event(session: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_name": "page_view",
        "timestamp": 1_790_000_000_000,
        "device_id": session["device_id"],
        "session_id": session["session_id"],
        "customer_id": None,
        "url": "http://127.0.0.1:8000/article/1",
        "page_title": "An article",
        "data": {"price": 9.99, "tags": ["a", "b"]},
    }
    event.update(overrides)
    return event


def make_settings(db_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_path": db_path,
        "signing_key": SigningKey.from_secret(SECRET),
        "allowed_origins": (ALLOWED_ORIGIN,),
        "admin_key": ADMIN_KEY,
    }
    values.update(overrides)
    return Settings(**values)


MEMBER_SECRET = "demo-member-identity-secret-0123456789"
MEMBER_AUDIENCE = ALLOWED_ORIGIN


def with_members(settings: Settings) -> Settings:
    """The same settings with member login enabled."""
    return dataclasses.replace(
        settings, member_secret=MEMBER_SECRET.encode(), member_audience=MEMBER_AUDIENCE
    )
