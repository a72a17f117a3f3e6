from __future__ import annotations

import pytest

from allegro_sdk.core.options import read_options

from .fakes import FakeConsole

DEFAULTS = {
    "data-timeout-seconds": 0,  # no timeout: a promise waits for its event to be stored
    "data-outbox-max-events": 1000,
    "data-outbox-max-kb": 512 * 1024,
    "data-outbox-max-days": 7 * 24 * 3600 * 1000,
}


def test_defaults_in_the_sdks_units() -> None:
    console = FakeConsole()
    assert read_options({}, console) == DEFAULTS
    assert console.errors == []


def test_given_values_are_converted() -> None:
    settings = {
        "data-timeout-seconds": "30",
        "data-outbox-max-events": " 50 ",
        "data-outbox-max-kb": "64",
        "data-outbox-max-days": "1",
    }
    assert read_options(settings, FakeConsole()) == {
        "data-timeout-seconds": 30_000,
        "data-outbox-max-events": 50,
        "data-outbox-max-kb": 64 * 1024,
        "data-outbox-max-days": 24 * 3600 * 1000,
    }


@pytest.mark.parametrize("raw", ["0", "-5", "2.5", "ten", "", "1000001", "²", "\u0661\u0660"])
def test_a_bad_value_is_reported_and_the_default_used(raw: str) -> None:
    console = FakeConsole()
    options = read_options({"data-outbox-max-events": raw}, console)
    assert options == DEFAULTS
    assert console.errors == [
        f'data-outbox-max-events="{raw}" must be a whole number from 1 to 1000000; using 1000'
    ]


def test_a_bad_timeout_is_reported_and_ignored() -> None:
    console = FakeConsole()
    assert read_options({"data-timeout-seconds": "soon"}, console) == DEFAULTS
    assert console.errors == [
        'data-timeout-seconds="soon" must be a whole number from 1 to 1000000; it is ignored'
    ]
