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


class StoreUnavailableError(Exception):
    """The store cannot do its work now (locked by another process, disk full, read-only file,
    I/O error); the same request may succeed later. Answered 503 with Retry-After."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"{store}: {reason}")
        self.store = store
        self.reason = reason


class Binding(Enum):
    """The outcome of binding a member to a session."""

    BOUND = "bound"
    SESSION_OVER = "session_over"  # unknown, another device's, or expired
    OTHER_MEMBER = "other_member"


@dataclass(frozen=True)
class Login:
    """The outcome of a login: when BOUND, `session_id` is the member's session (a new one
    unless the session already was that member's)."""

    binding: Binding
    session_id: str | None = None


@dataclass(frozen=True)
class LiveSession:
    """A session that was renewed, with the member a verified login bound to it (or None)."""

    customer_id: str | None


class Store(Protocol):
    @property
    def name(self) -> str:
        """What operators call this store, in errors and /healthz (e.g. `sqlite events.db`)."""

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

    def log_in(
        self,
        session_id: str,
        device_id: str,
        customer_id: str,
        new_session_id: str,
        now_ms: int,
        expires_at: int,
    ) -> Login:
        """Move a verified member from a live anonymous session to `new_session_id` (a new
        session bound to the member, live until `expires_at`), ending the old one: whoever
        else holds the old session's token can never renew it or act as the member. A session
        already the member's is kept (and extended); a session a login just replaced answers
        the session it was replaced by, so a repeated login is harmless."""

    def end_session(self, session_id: str, device_id: str, now_ms: int) -> None:
        """End a session for good (a logout)."""

    def store_events(
        self, events: Sequence[Event], received_at: int, session_expires_at: int
    ) -> frozenset[str]:
        """Commit the new events and extend their live sessions; the ids refused because
        another device stored them first (an id this device stored before is skipped)."""

    def expire_sessions(self, now_ms: int, keep_ms: int, limit: int) -> int:
        """Delete at most `limit` sessions that expired more than `keep_ms` ago, in one short
        transaction; how many were deleted."""

    def write_failure(self) -> str | None:
        """Why the last write failed, while no write since has succeeded; None when it did.
        Tries a small write (at most once a second) to find out whether the store recovered."""

    def list_events(
        self, session_id: str | None, device_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Stored events, newest first."""
