"""CSRF tokens: an HMAC-SHA256 signature binding one session, one device and an expiry.

Format (all parts ASCII, none containing a dot):
``v1.<key id>.<session id>.<device id>.<expires at, epoch ms>.<base64url signature>``.
The signature covers everything before the last dot. The key id picks the secret, so a
token signed with the previous secret still verifies while secrets rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

VERSION = "v1"
MAX_TOKEN_CHARS = 512


@dataclass(frozen=True)
class SigningKey:
    """A CSRF-token secret and the id that tokens signed with it carry."""

    key_id: str
    secret: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> SigningKey:
        """Derive the key id from the secret, so restarts and rotations need no extra config."""
        raw = secret.encode()
        if not raw:
            raise ValueError("a token secret must not be empty")
        key_id = hashlib.sha256(b"allegro-csrf-key-id\0" + raw).hexdigest()[:8]
        return cls(key_id=key_id, secret=raw)


class TokenProblem(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    FORGED = "forged"
    EXPIRED = "expired"
    WRONG_SESSION = "wrong_session"
    WRONG_DEVICE = "wrong_device"


class TokenError(Exception):
    def __init__(self, problem: TokenProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True)
class TokenClaims:
    key_id: str
    session_id: str
    device_id: str
    expires_at: int

    def check_binding(self, session_id: str, device_id: str) -> None:
        """Raise unless an event's session and device are the ones this token was issued for."""
        if session_id != self.session_id:
            raise TokenError(
                TokenProblem.WRONG_SESSION, "does not match the session of the CSRF token"
            )
        if device_id != self.device_id:
            raise TokenError(
                TokenProblem.WRONG_DEVICE, "does not match the device of the CSRF token"
            )


def _sign(secret: bytes, signed_part: str) -> str:
    digest = hmac.digest(secret, signed_part.encode(), "sha256")  # one call into OpenSSL
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(key: SigningKey, session_id: str, device_id: str, expires_at: int) -> str:
    parts = (VERSION, key.key_id, session_id, device_id, str(expires_at))
    if any(not part or "." in part for part in parts):
        raise ValueError("token parts must be non-empty and contain no dot")
    signed_part = ".".join(parts)
    return f"{signed_part}.{_sign(key.secret, signed_part)}"


def verify(
    token: str | None,
    keys: Mapping[str, bytes],
    now_ms: int,
    *,
    expired_for_at_most_ms: int | None = 0,
) -> TokenClaims:
    """Check form, key, signature and expiry, in that order; raise TokenError on the first miss.

    `expired_for_at_most_ms` accepts a token that expired at most that long ago (None: however
    long ago). Renewing a session takes its last token as proof that the browser holds the
    session; a token that expired longer ago than a session can idle proves nothing any more.
    """
    if not token:
        raise TokenError(TokenProblem.MISSING, "CSRF token is missing")
    parts = token.split(".")
    if (
        len(token) > MAX_TOKEN_CHARS
        or not token.isascii()
        or len(parts) != 6
        or parts[0] != VERSION
    ):
        raise TokenError(TokenProblem.MALFORMED, "CSRF token is malformed")
    _, key_id, session_id, device_id, expires_raw, signature = parts
    if not expires_raw.isascii() or not expires_raw.isdigit():
        raise TokenError(TokenProblem.MALFORMED, "CSRF token is malformed")
    secret = keys.get(key_id)
    if secret is None:
        raise TokenError(TokenProblem.UNKNOWN_KEY, "CSRF token is signed with an unknown key")
    verified = _verified.get(token)
    if verified is not None and verified[0] == secret:
        claims = verified[1]
    else:
        expected = _sign(secret, token[: token.rindex(".")])
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise TokenError(TokenProblem.FORGED, "CSRF token signature is invalid")
        claims = TokenClaims(key_id, session_id, device_id, int(expires_raw))
        if len(_verified) >= MAX_VERIFIED_TOKENS:
            _verified.clear()
        _verified[token] = (secret, claims)
    expires_at = claims.expires_at
    if expires_at <= now_ms and (
        expired_for_at_most_ms is not None and now_ms - expires_at >= expired_for_at_most_ms
    ):
        raise TokenError(TokenProblem.EXPIRED, "CSRF token has expired")
    return claims


# Tokens whose signature checked out, with the secret it checked out against: a session's
# token comes with every batch, and the HMAC was a third of checking one. Bounded; a miss only
# costs the HMAC again. A token is taken from here only for the secret it was signed with.
MAX_VERIFIED_TOKENS = 10_000
_verified: dict[str, tuple[bytes, TokenClaims]] = {}
