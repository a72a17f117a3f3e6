from __future__ import annotations

import pytest

from allegro_sdk.core.collector_address import check_collector


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("https://collect.example", "https://collect.example"),
        (" https://collect.example/ ", "https://collect.example"),
        ("HTTP://127.0.0.1:8765", "HTTP://127.0.0.1:8765"),
        ("https://news.example/allegro/", "https://news.example/allegro"),
    ],
)
def test_an_http_address_is_the_collector(raw: str, url: str) -> None:
    assert check_collector(raw) == (url, "")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_a_missing_collector_says_what_to_add(raw: str | None) -> None:
    url, problem = check_collector(raw)
    assert url == ""
    assert problem == (
        'the SDK\'s script tag needs data-collector="https://collector.your-site.example" '
        "(your collector's address); nothing is sent until it has one"
    )


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("collect.example", "is not an http(s) address"),
        ("/collect", "is not an http(s) address"),
        ("ftp://collect.example", "is not an http(s) address"),
        ("javascript://x", "is not an http(s) address"),
        ("https://", "has no host name"),
        ("https:///path", "has no host name"),
        ("https://user@collect.example", "has no host name"),
        ("https://collect example", "contains characters a URL cannot"),
        ("https://collect.example/?x=1", "must not have a query (?) or fragment (#)"),
        ("https://collect.example#x", "must not have a query (?) or fragment (#)"),
    ],
)
def test_an_unusable_collector_is_refused_with_the_reason(raw: str, said: str) -> None:
    url, problem = check_collector(raw)
    assert url == ""
    assert problem == (
        f'data-collector="{raw}" {said}: write it as '
        'data-collector="https://collector.your-site.example"; nothing is sent until then'
    )
