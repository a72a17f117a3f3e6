from __future__ import annotations

import pytest

from allegro_sdk.core.page import page_fields, without_fragment


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/p?q=1#section", "https://a.example/p?q=1"),
        ("https://a.example/p#", "https://a.example/p"),
        ("https://a.example/p#a#b", "https://a.example/p"),
        ("https://a.example/p?q=1", "https://a.example/p?q=1"),
        ("", ""),
    ],
)
def test_without_fragment(url: str, expected: str) -> None:
    assert without_fragment(url) == expected


def test_page_fields() -> None:
    assert page_fields("https://a.example/p#top", "https://r.example/", "  A title \n") == {
        "url": "https://a.example/p",
        "referer": "https://r.example/",
        "page_title": "A title",
    }


def test_no_referrer_means_no_referer_field() -> None:
    fields = page_fields("https://a.example/", "", "Title")
    assert fields == {"url": "https://a.example/", "page_title": "Title"}


def test_referrer_is_kept_as_is() -> None:
    # The referrer's fragment is the browser's business; document.referrer never has one anyway.
    assert page_fields("https://a.example/", "https://r.example/x?y=1", "")["referer"] == (
        "https://r.example/x?y=1"
    )


def test_blank_title_is_empty() -> None:
    assert page_fields("https://a.example/", "", "   ")["page_title"] == ""
