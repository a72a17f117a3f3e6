from __future__ import annotations

from pathlib import Path

import pytest

from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey


def test_verification_keys_hold_current_and_previous() -> None:
    current, previous = SigningKey.from_secret("new"), SigningKey.from_secret("old")
    settings = Settings(Path("x.db"), current, previous_signing_key=previous)
    assert settings.verification_keys == {
        current.key_id: current.secret,
        previous.key_id: previous.secret,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"allowed_origins": ("http://ok:1", "example.com")}, "scheme://host"),
        ({"allowed_origins": ("http://host/path",)}, "scheme://host"),
        ({"previous_signing_key": SigningKey.from_secret("s")}, "differ"),
        ({"admin_key": ""}, "admin key"),
        ({"token_lifetime_ms": 0}, "positive"),
        ({"max_pending_batches": 0}, "pending batches"),
        ({"retry_after_seconds": 0}, "Retry-After"),
        ({"member_secret": b"x" * 32}, "both the identity secret and the audience"),
        ({"member_audience": "https://a.example"}, "both the identity secret and the audience"),
        ({"member_secret": b"short", "member_audience": "https://a.example"}, "32 bytes"),
        ({"member_secret": b"x" * 32, "member_audience": ""}, "must not be empty"),
    ],
)
def test_invalid_configuration_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(Path("x.db"), SigningKey.from_secret("s"), **overrides)  # type: ignore[arg-type]


def test_wildcard_origin_is_allowed() -> None:
    assert Settings(Path("x.db"), SigningKey.from_secret("s"), allowed_origins=("*",))
