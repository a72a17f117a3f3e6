from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from allegro_collector.member_tokens import (
    MAX_LIFETIME_SECONDS,
    MemberTokenError,
    MemberTokenProblem,
    check_secret,
    mint_member_token,
    verify_member_token,
)

SECRET = "a-member-identity-secret-of-32-bytes!"
AUDIENCE = "https://news.example"


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    values: dict[str, object] = {"sub": "c-42", "aud": AUDIENCE, "iat": now, "exp": now + 60}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def signed(secret: str = SECRET, algorithm: str = "HS256", **overrides: object) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm=algorithm)


def problem_of(token: str, customer_id: str = "c-42") -> tuple[MemberTokenProblem, str]:
    with pytest.raises(MemberTokenError) as caught:
        verify_member_token(token, SECRET.encode(), AUDIENCE, customer_id)
    return caught.value.problem, caught.value.message


def test_minted_token_verifies_and_carries_the_claims() -> None:
    token = mint_member_token("c-42", SECRET, AUDIENCE, lifetime_seconds=120, now=1_790_000_000)
    decoded = jwt.decode(
        token, SECRET, algorithms=["HS256"], audience=AUDIENCE, options={"verify_exp": False}
    )
    assert decoded == {"sub": "c-42", "aud": AUDIENCE, "iat": 1_790_000_000, "exp": 1_790_000_120}
    verify_member_token(
        mint_member_token("c-42", SECRET, AUDIENCE), SECRET.encode(), AUDIENCE, "c-42"
    )


def unsigned_token() -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims())}."


@pytest.mark.parametrize(
    ("token", "problem", "message"),
    [
        (
            lambda: signed(secret="another-secret-of-at-least-32-bytes"),
            "forged",
            "invalid signature",
        ),
        (unsigned_token, "algorithm", "must be signed with HS256"),
        (lambda: signed(secret="k" * 48, algorithm="HS384"), "algorithm", "signed with HS256"),
        (lambda: signed(aud="https://other.example"), "wrong_audience", "another site"),
        (lambda: signed(aud=None), "missing_claim", "lacks the 'aud' claim"),
        (lambda: signed(sub=None), "missing_claim", "lacks the 'sub' claim"),
        (lambda: signed(exp=None), "missing_claim", "lacks the 'exp' claim"),
        (lambda: signed(iat=None), "missing_claim", "lacks the 'iat' claim"),
        (
            lambda: signed(iat=int(time.time()) - 600, exp=int(time.time()) - 60),
            "expired",
            "has expired",
        ),
        (
            lambda: signed(iat=int(time.time()) + 600, exp=int(time.time()) + 900),
            "not_yet_valid",
            "issued in the future",
        ),
        (
            lambda: signed(exp=int(time.time()) + MAX_LIFETIME_SECONDS + 60),
            "too_long_lived",
            "the most allowed is 3600 s",
        ),
        (lambda: signed(sub=42), "malformed", "Subject must be a string"),
        (lambda: "not.a.jwt", "malformed", "not a well-formed JWT"),
        (lambda: "", "malformed", "not a well-formed JWT"),
        (lambda: "x" * 5000, "malformed", "not a well-formed JWT"),
    ],
)
def test_every_bad_token_is_refused_with_its_reason(
    token: object, problem: str, message: str
) -> None:
    assert callable(token)
    found, text = problem_of(token())
    assert found == problem
    assert message in text


def test_token_for_another_customer_is_refused() -> None:
    assert problem_of(signed(), customer_id="c-43") == (
        MemberTokenProblem.WRONG_CUSTOMER,
        "does not match the member token's subject (sub)",
    )


def test_small_clock_skew_is_tolerated() -> None:
    verify_member_token(
        signed(iat=int(time.time()) + 20, exp=int(time.time()) + 80),
        SECRET.encode(),
        AUDIENCE,
        "c-42",
    )


def test_mint_refuses_what_verify_would_refuse() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        mint_member_token("c-42", "short", AUDIENCE)
    with pytest.raises(ValueError, match="lifetime_seconds must be from 1 to 3600"):
        mint_member_token("c-42", SECRET, AUDIENCE, lifetime_seconds=7200)
    with pytest.raises(ValueError, match="customer_id"):
        mint_member_token("", SECRET, AUDIENCE)
    with pytest.raises(ValueError, match="audience"):
        mint_member_token("c-42", SECRET, "")


def test_check_secret_accepts_text_and_bytes() -> None:
    assert check_secret(SECRET) == SECRET.encode()
    assert check_secret(SECRET.encode()) == SECRET.encode()
