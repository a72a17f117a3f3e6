from __future__ import annotations

import pytest

from allegro_collector.campaign import CAMPAIGN_PARAMS, campaign_params, campaign_values
from allegro_sdk.core.protocol import MAX_TEXT_CHARS

NONE = dict.fromkeys(CAMPAIGN_PARAMS)


def test_every_campaign_parameter_is_read() -> None:
    query = "&".join(f"{name}=v-{name}" for name in CAMPAIGN_PARAMS)
    assert campaign_params(f"https://s.example/p?{query}#frag") == {
        name: f"v-{name}" for name in CAMPAIGN_PARAMS
    }


def test_values_are_decoded_the_first_non_empty_one_wins_and_others_are_ignored() -> None:
    url = (
        "https://s.example/?utm_source=&utm_source=news+letter&utm_source=x&utm_term=caf%C3%A9&q=1"
    )
    assert campaign_params(url) == {**NONE, "utm_source": "news letter", "utm_term": "café"}


@pytest.mark.parametrize(
    "url", [None, "", "https://s.example/", "https://s.example/#utm_source=x", "http://[::1/?a=1"]
)
def test_no_campaign(url: str | None) -> None:
    assert campaign_params(url) == NONE


def test_names_are_case_sensitive_and_values_capped() -> None:
    url = f"https://s.example/?UTM_SOURCE=a&utm_medium={'m' * 3000}"
    assert campaign_params(url) == {**NONE, "utm_medium": "m" * MAX_TEXT_CHARS}


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://s.example/article/1",
        "https://s.example/p?utm_source=news&gclid=g1&utm_medium=",
        "https://s.example/p?%75tm_campaign=spring",
        "https://s.example/p?q=1",
    ],
)
def test_campaign_values_are_the_params_in_column_order(url: str | None) -> None:
    assert campaign_values(url) == tuple(campaign_params(url).values())
    assert len(campaign_values(url)) == len(CAMPAIGN_PARAMS)
