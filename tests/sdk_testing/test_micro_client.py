"""allegro_sdk.testing: MicroClient and expect_event against a real micro collector, and the
pytest fixtures in a pytest run of their own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from allegro_collector.micro import running_micro
from allegro_sdk.testing import MicroClient, matches
from tests.collector.support import make_event


class Browserless:
    """Sends events to the micro collector as the SDK would: a session, then batches."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10)
        device_id = str(uuid.uuid4())
        answer = self.client.post("/v1/sessions", json={"device_id": device_id}).json()
        self.session = {**answer, "device_id": device_id}

    def send(self, **fields: Any) -> dict[str, Any]:
        event = make_event(self.session, **fields)
        self.client.post(
            "/v1/events",
            json={"events": [event]},
            headers={"X-Allegro-CSRF": self.session["csrf_token"]},
        )
        return event


@pytest.fixture(scope="module")
def micro_url() -> Iterator[str]:
    with running_micro(quiet=True) as running:
        yield running.url


@pytest.fixture
def micro(micro_url: str) -> MicroClient:
    client = MicroClient(micro_url)
    client.reset()
    return client


@pytest.fixture
def sender(micro_url: str) -> Iterator[Browserless]:
    browserless = Browserless(micro_url)
    yield browserless
    browserless.client.close()


def test_matches_compares_values_and_dicts_by_their_given_keys() -> None:
    assert matches({"price": 9.99}, {"price": 9.99, "currency": "EUR"})
    assert matches({"data": {"tags": ["a"]}}, {"data": {"tags": ["a"], "n": 1}, "url": "x"})
    assert not matches({"price": 9.99}, {"price": 10})
    assert not matches({"currency": "EUR"}, {"price": 9.99})
    assert not matches({"data": {"price": 1}}, {"data": None})
    assert not matches({"tags": ["a"]}, {"tags": ["a", "b"]})  # lists are compared whole


def test_expect_event_returns_the_matching_event(micro: MicroClient, sender: Browserless) -> None:
    sender.send(event_name="purchase", data={"price": 5, "currency": "USD"})
    wanted = sender.send(event_name="purchase", content_id="sku-1", data={"price": 9.99})
    found = micro.expect_event("purchase", content_id="sku-1", data={"price": 9.99})
    assert found["event_id"] == wanted["event_id"]
    assert found["received_at"] > 0  # the event as the collector stored it


def test_expect_event_waits_for_a_late_event(micro: MicroClient, sender: Browserless) -> None:
    late = threading.Timer(0.5, lambda: sender.send(event_name="signup"))
    late.start()
    try:
        assert micro.expect_event("signup", timeout=10)["event_name"] == "signup"
    finally:
        late.join()


def test_expect_event_fails_saying_what_arrived_and_what_was_refused(
    micro: MicroClient, sender: Browserless
) -> None:
    sender.send(event_name="purchase", content_id="sku-2", data={"price": 5})
    sender.send(event_name="purchase", url_in_click=7)
    with pytest.raises(AssertionError) as caught:
        micro.expect_event("purchase", timeout=0.3, data={"price": 9.99})
    message = str(caught.value)
    assert message.startswith("no 'purchase' event with data={'price': 9.99} within 0.3 s.")
    assert "Stored (1):\n  'purchase' (event_id=" in message
    assert 'content_id="sku-2"' in message and 'data={"price": 5}' in message
    assert "Refused (1):\n  'purchase' refused with 422: events.0.url_in_click: " in message


def test_expect_event_with_nothing_arrived(micro: MicroClient) -> None:
    with pytest.raises(AssertionError) as caught:
        micro.expect_event("page_view", timeout=0.1)
    assert str(caught.value) == (
        "no 'page_view' event within 0.1 s.\nStored: none.\nRefused: none."
    )


def test_the_fixtures_in_a_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["allegro_sdk.testing.plugin"]\n')
    pytester.makepyfile(
        test_site="""
        import uuid, httpx, pytest

        def send(url, name):
            client = httpx.Client(base_url=url)
            device = str(uuid.uuid4())
            session = client.post("/v1/sessions", json={"device_id": device}).json()
            event = {"event_id": str(uuid.uuid4()), "event_name": name, "timestamp": 1,
                     "device_id": device, "session_id": session["session_id"]}
            client.post("/v1/events", json={"events": [event]},
                        headers={"X-Allegro-CSRF": session["csrf_token"]})

        def test_first(allegro_micro):
            send(allegro_micro.url, "first")
            assert allegro_micro.expect_event("first")["event_name"] == "first"

        def test_second_starts_empty(allegro_micro, allegro_micro_server):
            assert allegro_micro is allegro_micro_server
            assert allegro_micro.good() == []
            send(allegro_micro.url, "second")
            allegro_micro.expect_event("first", timeout=0.2)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*AssertionError: no 'first' event within 0.2 s.*", "*Stored (1):*", "*'second'*"]
    )
