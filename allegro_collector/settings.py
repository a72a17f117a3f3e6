"""Collector configuration, validated once when it is built."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from allegro_collector.member_tokens import check_secret
from allegro_collector.tokens import SigningKey as SigningKey  # re-exported: Settings holds keys

MINUTE_MS = 60 * 1000
MIB = 1024 * 1024
# Batches in one process at once; twice the 16 connections that saturate it here (docs/scaling.md).
DEFAULT_MAX_PENDING_BATCHES = 32
DEFAULT_RETRY_AFTER_SECONDS = 1
DEFAULT_BUSY_HOLD_SECONDS = 1.0

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
        if self.retry_after_seconds < 1:
            raise ValueError("Retry-After must be at least 1 second")

    @property
    def verification_keys(self) -> dict[str, bytes]:
        """Every key a token may be signed with: the current one and, during rotation, the old."""
        keys = {self.signing_key.key_id: self.signing_key.secret}
        if self.previous_signing_key is not None:
            keys[self.previous_signing_key.key_id] = self.previous_signing_key.secret
        return keys
