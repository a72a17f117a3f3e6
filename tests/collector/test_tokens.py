from __future__ import annotations

import pytest

from allegro_collector.tokens import (
    SigningKey,
    TokenClaims,
    TokenError,
    TokenProblem,
    issue,
    verify,
)

KEY = SigningKey.from_secret("current")
OLD_KEY = SigningKey.from_secret("previous")
KEYS = {KEY.key_id: KEY.secret, OLD_KEY.key_id: OLD_KEY.secret}
SESSION = "9b2f3c1e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"
DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
NOW = 1_790_000_000_000


def problem(token: str | None, keys: dict[str, bytes] = KEYS, now: int = NOW) -> TokenProblem:
    with pytest.raises(TokenError) as caught:
        verify(token, keys, now)
    return caught.value.problem


def test_round_trip_carries_key_id_session_device_and_expiry() -> None:
    token = issue(KEY, SESSION, DEVICE, NOW + 1000)
    assert token.startswith(f"v1.{KEY.key_id}.{SESSION}.{DEVICE}.{NOW + 1000}.")
    assert verify(token, KEYS, NOW) == TokenClaims(KEY.key_id, SESSION, DEVICE, NOW + 1000)


def test_token_signed_with_previous_key_verifies() -> None:
    assert verify(issue(OLD_KEY, SESSION, DEVICE, NOW + 1), KEYS, NOW).key_id == OLD_KEY.key_id


def test_token_signed_with_a_retired_key_is_refused() -> None:
    token = issue(OLD_KEY, SESSION, DEVICE, NOW + 1)
    assert problem(token, keys={KEY.key_id: KEY.secret}) is TokenProblem.UNKNOWN_KEY


@pytest.mark.parametrize("token", [None, ""])
def test_missing(token: str | None) -> None:
    assert problem(token) is TokenProblem.MISSING


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "v1.a.b.c.d",
        "v2.a.b.c.1.sig",
        "v1.a.b.c.soon.sig",
        "v1.a.b.c.1.sig.extra",
        "v1.a.b.c.\u0661.sig",  # a non-ASCII digit
        "v1.\u00e9.b.c.1.sig",
        "v1.a.b.c.1." + "s" * 600,
    ],
)
def test_malformed(token: str) -> None:
    assert problem(token) is TokenProblem.MALFORMED


def test_forged_signature() -> None:
    token = issue(KEY, SESSION, DEVICE, NOW + 1000)
    assert problem(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is TokenProblem.FORGED


def test_changed_claim_breaks_the_signature() -> None:
    token = issue(KEY, SESSION, DEVICE, NOW + 1000)
    assert problem(token.replace(str(NOW + 1000), str(NOW + 10**9))) is TokenProblem.FORGED
    other_device = "11111111-2222-4333-8444-555555555555"
    assert problem(token.replace(DEVICE, other_device)) is TokenProblem.FORGED


def test_secret_from_another_server_is_forged() -> None:
    impostor = SigningKey(key_id=KEY.key_id, secret=b"not the secret")
    assert problem(issue(impostor, SESSION, DEVICE, NOW + 1)) is TokenProblem.FORGED


def test_expired_at_and_after_expiry() -> None:
    token = issue(KEY, SESSION, DEVICE, NOW)
    assert problem(token, now=NOW) is TokenProblem.EXPIRED
    assert verify(token, KEYS, NOW - 1).expires_at == NOW


def test_binding_distinguishes_session_and_device() -> None:
    claims = verify(issue(KEY, SESSION, DEVICE, NOW + 1), KEYS, NOW)
    claims.check_binding(SESSION, DEVICE)
    with pytest.raises(TokenError) as caught:
        claims.check_binding("another-session", DEVICE)
    assert caught.value.problem is TokenProblem.WRONG_SESSION
    with pytest.raises(TokenError) as caught:
        claims.check_binding(SESSION, "another-device")
    assert caught.value.problem is TokenProblem.WRONG_DEVICE


def test_issue_refuses_parts_that_would_break_the_format() -> None:
    with pytest.raises(ValueError, match="dot"):
        issue(KEY, "a.b", DEVICE, NOW)


def test_key_id_is_derived_from_the_secret_and_stable() -> None:
    assert SigningKey.from_secret("a").key_id == SigningKey.from_secret("a").key_id
    assert SigningKey.from_secret("a").key_id != SigningKey.from_secret("b").key_id


def test_secret_is_not_in_the_repr() -> None:
    assert "hunter2" not in repr(SigningKey.from_secret("hunter2"))


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        SigningKey.from_secret("")


def test_a_token_verified_before_is_checked_again_against_another_secret() -> None:
    """Verified tokens are remembered per secret: one that checked out under a secret is
    forged under another secret that happens to carry the same key id."""
    token = issue(KEY, SESSION, DEVICE, NOW + 1000)
    assert verify(token, KEYS, NOW).session_id == SESSION
    assert problem(token, keys={KEY.key_id: b"another secret"}) is TokenProblem.FORGED
    assert verify(token, KEYS, NOW).session_id == SESSION


def test_a_token_verified_before_still_expires() -> None:
    token = issue(KEY, SESSION, DEVICE, NOW + 1000)
    assert verify(token, KEYS, NOW).expires_at == NOW + 1000
    assert problem(token, now=NOW + 1000) is TokenProblem.EXPIRED


def test_forged_tokens_are_never_remembered() -> None:
    token = issue(KEY, SESSION, DEVICE, NOW + 1000)
    forged = token[: token.rindex(".") + 1] + "A" * 43
    for _ in range(2):
        assert problem(forged) is TokenProblem.FORGED
