"""What the endpoints need from a database: the `Store` interface and the values it returns.

The endpoints see only this interface; `sqlite_store.SqliteStore` implements it. Every method
blocks, so async code calls them through `run_in_threadpool`. A store keeps its schema with the
numbered migrations of `migrations.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from allegro_collector.schemas import Event


class StorageClosedError(RuntimeError):
    pass


class Binding(Enum):
    """The outcome of binding a member to a session."""

    BOUND = "bound"
    SESSION_OVER = "session_over"  # unknown, another device's, or expired
    OTHER_MEMBER = "other_member"


@dataclass(frozen=True)
class LiveSession:
    """A session that was renewed, with the member a verified login bound to it (or None)."""

    customer_id: str | None


class Store(Protocol):
    @property
    def is_open(self) -> bool: ...

    def open(self) -> None:
        """Connect and bring the schema up to the newest migration."""

    def close(self) -> None: ...

    def create_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> None: ...

    def renew_session(
        self, session_id: str, device_id: str, now_ms: int, expires_at: int
    ) -> LiveSession | None:
        """Extend a live session of this device; None when it is unknown, foreign or over."""

    def bind_member(
        self, session_id: str, device_id: str, customer_id: str, now_ms: int
    ) -> Binding:
        """Bind a verified member to a live session; the same member again is a no-op."""

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        """End a session for good (a logout)."""

    def store_events(
        self, events: Sequence[Event], received_at: int, session_expires_at: int
    ) -> None:
        """Commit the new events (a known event_id is skipped) and extend their live sessions."""

    def list_events(
        self, session_id: str | None, device_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Stored events, newest first."""
