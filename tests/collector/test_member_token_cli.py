from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt

from .support import MEMBER_AUDIENCE, MEMBER_SECRET


def run(*args: str, secret: str | None = MEMBER_SECRET) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "ALLEGRO_MEMBER_SECRET"}
    if secret is not None:
        env["ALLEGRO_MEMBER_SECRET"] = secret
    script = Path(sys.executable).with_name("allegro-member-token")
    return subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_prints_a_token_the_collector_accepts() -> None:
    result = run("--customer-id", "c-42", "--audience", MEMBER_AUDIENCE, "--lifetime", "120")
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(
        result.stdout.strip(), MEMBER_SECRET, algorithms=["HS256"], audience=MEMBER_AUDIENCE
    )
    assert claims["sub"] == "c-42" and claims["exp"] - claims["iat"] == 120


def test_needs_the_secret_in_the_environment() -> None:
    result = run("--customer-id", "c-42", "--audience", MEMBER_AUDIENCE, secret=None)
    assert result.returncode == 2
    assert "set ALLEGRO_MEMBER_SECRET" in result.stderr


def test_bad_values_are_usage_errors() -> None:
    too_long = run("--customer-id", "c-42", "--audience", MEMBER_AUDIENCE, "--lifetime", "7200")
    assert too_long.returncode == 2 and "lifetime_seconds must be from 1 to 3600" in too_long.stderr
    short = run("--customer-id", "c-42", "--audience", MEMBER_AUDIENCE, secret="short")
    assert short.returncode == 2 and "at least 32 bytes" in short.stderr
