"""Collector configuration, validated once when it is built."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from allegro_collector.client_address import Network, parse_networks
from allegro_collector.member_tokens import check_secret
from allegro_collector.tokens import SigningKey as SigningKey  # re-exported: Settings holds keys
from allegro_sdk.core.outbox import MAX_AGE_MS as OUTBOX_MAX_AGE_MS

MINUTE_MS = 60 * 1000
MIB = 1024 * 1024
# Batches in one process at once; twice the 16 connections that saturate it here (docs/scaling.md).
DEFAULT_MAX_PENDING_BATCHES = 32
DEFAULT_RETRY_AFTER_SECONDS = 1
# A database that cannot write (locked by another process, disk full, read-only) rarely recovers
# within a second; clients come back after this many.
DEFAULT_STORE_RETRY_AFTER_SECONDS = 5
# New sessions a minute. Per device: a browser makes one per 30 idle minutes and per tab at
# most. Per address: a whole office or mobile carrier behind one NAT address stays far below.
DEFAULT_SESSIONS_PER_DEVICE_MINUTE = 30
DEFAULT_SESSIONS_PER_ADDRESS_MINUTE = 3000
DEFAULT_HEAD_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
DEFAULT_BUSY_HOLD_SECONDS = 1.0
DAY_MS = 24 * 60 * MINUTE_MS
# An erased device's events are acknowledged and not stored for this long: the SDK's outbox
# retries an event for at most this long (its default `data-outbox-max-days`).
DEFAULT_ERASURE_WINDOW_MS = OUTBOX_MAX_AGE_MS

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_ORIGIN = re.compile(r"^https?://[^/?#\s]+$")


@dataclass(frozen=True)
class Settings:
    db_path: Path
    signing_key: SigningKey
    previous_signing_key: SigningKey | None = None
    allowed_origins: tuple[str, ...] = ()
    # Origins allowed by CORS besides `allowed_origins`: a regular expression an origin must match
    # whole (the micro collector's every loopback origin).
    allowed_origin_regex: str | None = None
    admin_key: str | None = field(default=None, repr=False)
    session_lifetime_ms: int = 30 * MINUTE_MS
    token_lifetime_ms: int = 30 * MINUTE_MS
    max_body_bytes: int = MIB
    max_pending_batches: int = DEFAULT_MAX_PENDING_BATCHES  # in the collector at once
    retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS
    # How long a request that finds the ingest queue full waits for a place before its 503.
    busy_hold_seconds: float = DEFAULT_BUSY_HOLD_SECONDS
    # member.login(): the identity secret shared with the site's backend, and the site (JWT aud).
    member_secret: bytes | None = field(default=None, repr=False)
    member_audience: str | None = None
    # Slow and idle clients (connection_guards.py, bodies.py).
    head_timeout_seconds: float = DEFAULT_HEAD_TIMEOUT_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    keep_alive_seconds: float = 5.0
    max_connections: int | None = None  # None: the open-file limit minus a reserve
    # New sessions a minute, per device id and per client address (the socket's, or
    # X-Forwarded-For when the socket's peer is one of `trusted_proxies`).
    sessions_per_device_minute: int = DEFAULT_SESSIONS_PER_DEVICE_MINUTE
    sessions_per_address_minute: int = DEFAULT_SESSIONS_PER_ADDRESS_MINUTE
    trusted_proxies: tuple[str, ...] = ()
    # Storage faults: how long a write waits for another process's lock, and the Retry-After
    # of the 503 answered when the store cannot write.
    busy_timeout_ms: int = 5000
    store_retry_after_seconds: int = DEFAULT_STORE_RETRY_AFTER_SECONDS
    # Sessions are deleted this long after they expired (retention.py), checked this often.
    expired_session_keep_ms: int = 60 * MINUTE_MS
    sweep_interval_seconds: float = 60.0
    # Privacy (docs/privacy.md): events are deleted this long after they were received (None:
    # kept until erased), by the same sweeper; an erased device's events are acknowledged and not
    # stored for `erasure_window_ms` after its erasure.
    event_retention_ms: int | None = None
    erasure_window_ms: int = DEFAULT_ERASURE_WINDOW_MS
    # A postgresql:// URL: events and sessions in PostgreSQL instead of the SQLite file db_path.
    postgres_url: str | None = field(default=None, repr=False)  # may carry a password

    def __post_init__(self) -> None:
        if (self.member_secret is None) != (self.member_audience is None):
            raise ValueError("member login needs both the identity secret and the audience")
        if self.member_secret is not None:
            check_secret(self.member_secret)
        if self.postgres_url is not None and not self.postgres_url.startswith(POSTGRES_SCHEMES):
            raise ValueError("a PostgreSQL URL must start with postgresql:// or postgres://")
        if self.member_audience == "":
            raise ValueError("the member audience must not be empty")
        for origin in self.allowed_origins:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f"allowed origin {origin!r} must look like scheme://host[:port]")
        if self.allowed_origin_regex is not None:
            try:
                re.compile(self.allowed_origin_regex)
            except re.error as exc:
                raise ValueError(f"the allowed origin pattern is not valid: {exc}") from None
        if self.previous_signing_key is not None and (
            self.previous_signing_key.key_id == self.signing_key.key_id
        ):
            raise ValueError("the previous token secret must differ from the current one")
        if self.admin_key == "":
            raise ValueError("the admin key must not be empty")
        if min(self.session_lifetime_ms, self.token_lifetime_ms, self.max_body_bytes) <= 0:
            raise ValueError("lifetimes and the body limit must be positive")
        if self.max_pending_batches < 1:
            raise ValueError("the maximum of pending batches must be at least 1")
        if not 0 <= self.busy_hold_seconds <= self.retry_after_seconds:
            raise ValueError("the busy hold must be from 0 to the Retry-After seconds")
        if min(self.retry_after_seconds, self.store_retry_after_seconds) < 1:
            raise ValueError("Retry-After must be at least 1 second")
        if min(self.head_timeout_seconds, self.body_timeout_seconds, self.keep_alive_seconds) <= 0:
            raise ValueError("the head, body and keep-alive timeouts must be positive")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError("the maximum of connections must be at least 1")
        if min(self.sessions_per_device_minute, self.sessions_per_address_minute) < 1:
            raise ValueError("session rates must allow at least 1 a minute")
        if min(self.busy_timeout_ms, self.expired_session_keep_ms) < 0:
            raise ValueError("the busy timeout and the session keep time must not be negative")
        if self.event_retention_ms is not None and self.event_retention_ms <= 0:
            raise ValueError("the retention period must be positive")
        if self.erasure_window_ms < 0:
            raise ValueError("the erasure window must not be negative")
        if self.sweep_interval_seconds <= 0:
            raise ValueError("the sweep interval must be positive")
        parse_networks(self.trusted_proxies)

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @functools.cached_property  # asked for by every batch; the settings never change
    def verification_keys(self) -> dict[str, bytes]:
        """Every key a token may be signed with: the current one and, during rotation, the old."""
        keys = {self.signing_key.key_id: self.signing_key.secret}
        if self.previous_signing_key is not None:
            keys[self.previous_signing_key.key_id] = self.previous_signing_key.secret
        return keys
