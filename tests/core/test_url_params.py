from __future__ import annotations

import pytest

from allegro_sdk.core.url_params import (
    DEFAULT_STRIPPED,
    param_name,
    strip_event_urls,
    strip_params,
    stripped_names,
)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://s.example/p", "https://s.example/p"),
        ("https://s.example/p?a=1&b=2", "https://s.example/p?a=1&b=2"),
        ("https://s.example/p?email=a%40b.c", "https://s.example/p"),
        ("https://s.example/p?email=a%40b.c#top", "https://s.example/p#top"),
        (
            "https://s.example/p?utm_source=news&Email=x&token=t&utm_campaign=fall",
            "https://s.example/p?utm_source=news&utm_campaign=fall",
        ),
        ("https://s.example/p?e%6Dail=x&a", "https://s.example/p?a"),
        ("https://s.example/p?a=1&&email", "https://s.example/p?a=1"),
        ("https://s.example/p?emails=1", "https://s.example/p?emails=1"),
    ],
)
def test_named_parameters_are_removed_the_rest_kept_in_order(url: str, kept: str) -> None:
    assert strip_params(url, DEFAULT_STRIPPED) == kept


def test_the_setting_adds_names_to_the_default_list() -> None:
    names = stripped_names(" member_id, Uid  session ")
    assert names == DEFAULT_STRIPPED | {"member_id", "uid", "session"}
    assert stripped_names(None) == DEFAULT_STRIPPED
    assert {"email", "token", "password"} <= DEFAULT_STRIPPED
    assert not {"utm_source", "gclid", "q", "page"} & DEFAULT_STRIPPED


def test_param_names_are_decoded() -> None:
    assert param_name("e%6Dail=x") == "email"
    assert param_name("first+name=y") == "first name"
    assert param_name("bad%zz") == "bad%zz"


def test_url_referer_and_url_in_click_are_stripped_other_fields_not() -> None:
    event: dict[str, object] = {
        "url": "https://s.example/?token=1&a=2",
        "referer": "https://mail.example/?email=x",
        "url_in_click": "https://s.example/next?password=p",
        "canonical_url": "https://s.example/?token=1",
        "page_title": "?email=x",
        "context": None,
    }
    strip_event_urls(event, DEFAULT_STRIPPED)
    assert event == {
        "url": "https://s.example/?a=2",
        "referer": "https://mail.example/",
        "url_in_click": "https://s.example/next",
        "canonical_url": "https://s.example/?token=1",
        "page_title": "?email=x",
        "context": None,
    }
