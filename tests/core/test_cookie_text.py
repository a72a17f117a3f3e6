from __future__ import annotations

import pytest

from allegro_sdk.core.cookie_text import cookie_assignment, domain_matches, read_cookie

DEVICE = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"allegro_device_id={DEVICE}", DEVICE),
        (f"a=1; allegro_device_id={DEVICE}; b=2", DEVICE),
        (f"a=1;allegro_device_id={DEVICE};b=2", DEVICE),
        (f"  allegro_device_id={DEVICE}  ", DEVICE),
        ("allegro_device_id=", ""),
        ("allegro_device_id=a=b=c", "a=b=c"),
        ("allegro_device_id=first; allegro_device_id=second", "first"),
    ],
)
def test_reads_the_named_cookie(header: str, expected: str) -> None:
    assert read_cookie(header, "allegro_device_id") == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        ";",
        "a=1; b=2",
        "allegro_device_id",  # no '=': not a cookie named like that
        "xallegro_device_id=1",
        "allegro_device_idx=1",
        "allegro_device_id_old=1; my_allegro_device_id=2",
        "ALLEGRO_DEVICE_ID=1",
    ],
)
def test_missing_cookie_is_none(header: str) -> None:
    assert read_cookie(header, "allegro_device_id") is None


def test_does_not_confuse_the_two_sdk_cookies() -> None:
    header = "allegro_session_id=s; allegro_device_id=d"
    assert read_cookie(header, "allegro_session_id") == "s"
    assert read_cookie(header, "allegro_device_id") == "d"


def test_assignment_has_max_age_path_and_samesite() -> None:
    assert cookie_assignment("allegro_session_id", "abc", 1800, secure=False) == (
        "allegro_session_id=abc; Max-Age=1800; Path=/; SameSite=Lax"
    )


def test_secure_assignment() -> None:
    assert cookie_assignment("allegro_device_id", DEVICE, 315360000, secure=True) == (
        f"allegro_device_id={DEVICE}; Max-Age=315360000; Path=/; SameSite=Lax; Secure"
    )


def test_assignment_with_a_domain() -> None:
    assert cookie_assignment("n", "v", 60, secure=True, domain="example.com") == (
        "n=v; Max-Age=60; Path=/; SameSite=Lax; Domain=example.com; Secure"
    )


def test_empty_domain_is_left_out() -> None:
    assert "Domain" not in cookie_assignment("n", "v", 60, secure=False, domain="")


def test_assigned_value_reads_back() -> None:
    assignment = cookie_assignment("allegro_device_id", DEVICE, 60, secure=True)
    # document.cookie shows only name=value pairs; the first pair of the assignment is that.
    pair = assignment.split(";", 1)[0]
    assert read_cookie(f"other=1; {pair}", "allegro_device_id") == DEVICE


@pytest.mark.parametrize(
    ("host", "domain", "matches"),
    [
        ("www.example.com", ".example.com", True),
        ("example.com", ".example.com", True),
        ("example.com", "example.com", True),
        ("news.example.com", "example.com", True),
        ("Example.COM", ".example.com", True),
        ("badexample.com", ".example.com", False),
        ("example.org", ".example.com", False),
        ("example.com", ".www.example.com", False),
        ("localhost", ".", False),
        ("example.com", "", False),
    ],
)
def test_domain_matches(host: str, domain: str, matches: bool) -> None:
    assert domain_matches(host, domain) is matches


def test_a_domain_attribute_is_written_when_given() -> None:
    assignment = cookie_assignment("allegro_session_id", "s", 1800, False, ".example.com")
    assert (
        assignment
        == "allegro_session_id=s; Max-Age=1800; Path=/; SameSite=Lax; Domain=.example.com"
    )
