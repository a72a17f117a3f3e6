"""Member tokens: the HS256 JWT a site's backend signs so that `member.login()` can be believed.

The site and the collector share one identity secret. The backend mints a short-lived token for
the customer it has authenticated (`mint_member_token`); the browser hands it to the collector,
which checks it here with PyJWT: algorithm pinned to HS256 (so `alg: none` and algorithm swaps
are refused), audience, expiry, issue time, and a maximum lifetime. See docs/member.md.
"""

from __future__ import annotations

import time
from enum import StrEnum

import jwt

ALGORITHM = "HS256"
DEFAULT_LIFETIME_SECONDS = 5 * 60
MAX_LIFETIME_SECONDS = 60 * 60
LEEWAY_SECONDS = 30  # clock skew tolerated between the site's backend and the collector
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash
MAX_TOKEN_CHARS = 4096
REQUIRED_CLAIMS = ("sub", "aud", "iat", "exp")


class MemberTokenProblem(StrEnum):
    MALFORMED = "malformed"
    ALGORITHM = "algorithm"
    FORGED = "forged"
    MISSING_CLAIM = "missing_claim"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    TOO_LONG_LIVED = "too_long_lived"
    WRONG_CUSTOMER = "wrong_customer"


class MemberTokenError(Exception):
    def __init__(self, problem: MemberTokenProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


def check_secret(secret: str | bytes) -> bytes:
    """The secret as bytes; a short one is refused rather than silently weak."""
    raw = secret.encode() if isinstance(secret, str) else secret
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the member identity secret must be at least {MIN_SECRET_BYTES} bytes long, "
            f"got {len(raw)}"
        )
    return raw


def mint_member_token(
    customer_id: str,
    secret: str | bytes,
    audience: str,
    lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
    now: float | None = None,
) -> str:
    """A token for `member.login({customer_id, token})`, made by the site's backend.

    Call it only after your own login check has succeeded; anyone holding the token can log
    a browser in as `customer_id` until it expires, so keep `lifetime_seconds` short.
    """
    if not customer_id:
        raise ValueError("customer_id must not be empty")
    if not audience:
        raise ValueError("audience must not be empty")
    if not 0 < lifetime_seconds <= MAX_LIFETIME_SECONDS:
        raise ValueError(
            f"lifetime_seconds must be from 1 to {MAX_LIFETIME_SECONDS}, got {lifetime_seconds}"
        )
    issued_at = int(time.time() if now is None else now)
    claims = {
        "sub": customer_id,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + lifetime_seconds,
    }
    return jwt.encode(claims, check_secret(secret), algorithm=ALGORITHM)


_PROBLEMS: tuple[tuple[type[jwt.PyJWTError], MemberTokenProblem, str], ...] = (
    # Order matters: the more specific PyJWT errors subclass the general ones.
    (jwt.InvalidAlgorithmError, MemberTokenProblem.ALGORITHM, "must be signed with HS256"),
    (jwt.InvalidSignatureError, MemberTokenProblem.FORGED, "has an invalid signature"),
    (jwt.ExpiredSignatureError, MemberTokenProblem.EXPIRED, "has expired"),
    (jwt.InvalidAudienceError, MemberTokenProblem.WRONG_AUDIENCE, "is for another site (aud)"),
    (jwt.ImmatureSignatureError, MemberTokenProblem.NOT_YET_VALID, "is issued in the future"),
    (jwt.DecodeError, MemberTokenProblem.MALFORMED, "is not a well-formed JWT"),
)


def verify_member_token(token: str, secret: bytes, audience: str, customer_id: str) -> None:
    """Raise MemberTokenError unless `token` proves that the browser's member is `customer_id`."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise MemberTokenError(
            MemberTokenProblem.MALFORMED, "member token is not a well-formed JWT"
        )
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise MemberTokenError(
            MemberTokenProblem.MISSING_CLAIM, f"member token lacks the '{exc.claim}' claim"
        ) from None
    except jwt.PyJWTError as exc:
        for error_type, problem, text in _PROBLEMS:
            if isinstance(exc, error_type):
                raise MemberTokenError(problem, f"member token {text}") from None
        # Claims of the wrong type (a numeric sub, a string iat) and anything PyJWT adds later.
        raise MemberTokenError(
            MemberTokenProblem.MALFORMED, f"member token is invalid: {exc}"
        ) from None
    issued_at, expires_at = claims["iat"], claims["exp"]
    if not all(type(value) is int for value in (issued_at, expires_at)):
        # PyJWT also takes numeric strings and floats; the lifetime check needs whole seconds.
        raise MemberTokenError(
            MemberTokenProblem.MALFORMED, "member token's iat and exp must be whole seconds"
        )
    lifetime = expires_at - issued_at
    if lifetime > MAX_LIFETIME_SECONDS:
        raise MemberTokenError(
            MemberTokenProblem.TOO_LONG_LIVED,
            f"member token lives {lifetime} s (exp - iat); the most allowed is "
            f"{MAX_LIFETIME_SECONDS} s",
        )
    if claims["sub"] != customer_id:
        raise MemberTokenError(
            MemberTokenProblem.WRONG_CUSTOMER,
            "does not match the member token's subject (sub)",
        )
