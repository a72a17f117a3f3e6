"""Consent: the status and its sources, the visitor's choice, and the events waiting for it."""

from __future__ import annotations

import pytest

from allegro_sdk.core.consent import (
    CHOICE_MAX_AGE,
    DENIED,
    GRANTED,
    MAX_WAITING,
    PENDING,
    STORED_PREFIXES,
    Consent,
    erase,
    opt_in,
)
from allegro_sdk.core.errors import NotStored, TrackingError
from allegro_sdk.core.lease import LEASE_PREFIX
from allegro_sdk.core.member import MEMBER_KEY
from allegro_sdk.core.outbox import KEY_PREFIX
from allegro_sdk.core.protocol import CONSENT_COOKIE

from .fakes import FakeConsole, FakeCookies, FakeStore

Event = dict[str, object]


class Sink:
    """The sender as the consent sees it, and each event's outcome as the API would settle it."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.outcomes: dict[str, str] = {}

    def forward(self, event: Event, resolve: object, reject: object) -> None:
        self.sent.append(str(event["event_id"]))

    def track(self, consent: Consent, event_id: str) -> None:
        def reject(error: TrackingError) -> None:
            assert isinstance(error, NotStored) and error.args[1] == event_id
            self.outcomes[event_id] = "not stored"

        consent.send({"event_id": event_id}, lambda stored: None, reject)


class BlockedCookies(FakeCookies):
    """A browser that refuses cookies: writes are ignored."""

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        self.writes.append((name, value, max_age_seconds))


def make(
    opt_in_mode: bool = False,
    asks_not_to_track: bool = False,
    cookies: FakeCookies | None = None,
    max_waiting: int = MAX_WAITING,
) -> tuple[Consent, Sink, FakeCookies, FakeConsole]:
    sink, console = Sink(), FakeConsole()
    jar = FakeCookies() if cookies is None else cookies
    consent = Consent(jar, opt_in_mode, asks_not_to_track, console, sink.forward, max_waiting)
    return consent, sink, jar, console


@pytest.mark.parametrize(
    ("opt_in_mode", "asks_not_to_track", "stored", "status"),
    [
        (False, False, None, GRANTED),  # the default mode tracks as before
        (False, True, None, DENIED),  # GPC (or DNT where honoured)
        (True, False, None, PENDING),
        (True, True, None, PENDING),  # opt-in waits for the visitor's answer anyway
        (False, True, GRANTED, GRANTED),  # the site asked; the visitor said yes
        (False, False, DENIED, DENIED),
        (True, False, GRANTED, GRANTED),  # a choice made on an earlier page
        (True, False, "yes", PENDING),  # a value the SDK never writes is no choice
    ],
)
def test_the_status_comes_from_the_choice_then_the_mode_and_the_browser(
    opt_in_mode: bool, asks_not_to_track: bool, stored: str | None, status: str
) -> None:
    cookies = FakeCookies({CONSENT_COOKIE: stored} if stored else {})
    consent, *_ = make(opt_in_mode, asks_not_to_track, cookies)
    assert consent.status() == status


def test_a_choice_is_kept_in_the_consent_cookie() -> None:
    consent, _, cookies, _ = make(opt_in_mode=True)
    consent.choose(GRANTED)
    consent.choose(DENIED)
    assert cookies.writes_of(CONSENT_COOKIE) == [
        (GRANTED, CHOICE_MAX_AGE),
        (DENIED, CHOICE_MAX_AGE),
    ]
    assert consent.status() == DENIED


def test_where_cookies_are_refused_the_choice_holds_for_the_page() -> None:
    consent, *_ = make(opt_in_mode=True, cookies=BlockedCookies())
    consent.choose(GRANTED)
    assert consent.status() == GRANTED


def test_events_pass_when_granted_and_are_not_stored_when_denied() -> None:
    consent, sink, *_ = make()
    sink.track(consent, "e1")
    consent.choose(DENIED)
    sink.track(consent, "e2")
    assert sink.sent == ["e1"]
    assert sink.outcomes == {"e2": "not stored"}


def test_pending_events_wait_and_go_once_in_order_on_grant() -> None:
    consent, sink, cookies, _ = make(opt_in_mode=True)
    for event_id in ("e1", "e2", "e3"):
        sink.track(consent, event_id)
    assert sink.sent == [] and sink.outcomes == {}
    assert cookies.writes == []  # nothing written while the visitor has not chosen
    consent.choose(GRANTED)
    consent.choose(GRANTED)
    assert sink.sent == ["e1", "e2", "e3"]
    sink.track(consent, "e4")
    assert sink.sent == ["e1", "e2", "e3", "e4"]


def test_pending_events_are_not_stored_on_deny() -> None:
    consent, sink, *_ = make(opt_in_mode=True)
    sink.track(consent, "e1")
    sink.track(consent, "e2")
    consent.choose(DENIED)
    consent.choose(GRANTED)  # the visitor changes their mind: what was dropped stays dropped
    assert sink.outcomes == {"e1": "not stored", "e2": "not stored"}
    assert sink.sent == []


def test_past_the_bound_pending_events_are_not_kept_and_one_warning_says_so() -> None:
    consent, sink, _, console = make(opt_in_mode=True, max_waiting=2)
    for event_id in ("e1", "e2", "e3", "e4"):
        sink.track(consent, event_id)
    assert sink.outcomes == {"e3": "not stored", "e4": "not stored"}
    assert len(console.warnings) == 1 and "2 events already wait" in console.warnings[0]
    consent.choose(GRANTED)
    assert sink.sent == ["e1", "e2"]


def test_a_choice_made_in_another_tab_takes_effect_at_the_next_track() -> None:
    cookies = FakeCookies()
    consent, sink, *_ = make(opt_in_mode=True, cookies=cookies)
    heard: list[str] = []
    consent.listen(heard.append)
    sink.track(consent, "e1")
    cookies.values[CONSENT_COOKIE] = GRANTED  # the other tab's grant()
    sink.track(consent, "e2")
    assert sink.sent == ["e1", "e2"]
    cookies.values[CONSENT_COOKIE] = DENIED
    assert consent.check() == DENIED
    assert heard == [GRANTED, DENIED]


def test_listeners_hear_changes_only() -> None:
    consent, *_ = make()
    heard: list[str] = []
    consent.listen(heard.append)
    consent.choose(GRANTED)  # already granted by default: no change
    consent.choose(DENIED)
    consent.choose(DENIED)
    consent.choose(GRANTED)
    assert heard == [DENIED, GRANTED]


def test_the_mode_setting() -> None:
    console = FakeConsole()
    assert opt_in(None, console) is False
    assert opt_in("opt-in", console) is True
    assert console.errors == []
    assert opt_in("optin", console) is True  # a typo is read the safer way, and reported
    assert console.errors == [
        'data-consent="optin" is not an option: write data-consent="opt-in", or leave it out to '
        "track until the visitor says no; read as opt-in"
    ]


def test_erase_removes_the_sdk_cookies_and_stored_data_and_nothing_else() -> None:
    cookies = FakeCookies(
        {
            "allegro_device_id": "d",
            "allegro_session_id": "s",
            "allegro_session_token": "s|t",
            CONSENT_COOKIE: DENIED,
            "site_cookie": "1",
        }
    )
    store = FakeStore(
        {
            "allegro_outbox:tab-1": [],
            "allegro_lease:allegro_outbox:tab-1": ["tab-1", 1],
            "allegro_member": ["s", "ada"],
            "site_key": 1,
        }
    )
    erase(cookies, store)
    assert cookies.values == {CONSENT_COOKIE: DENIED, "site_cookie": "1"}
    assert [max_age for _, _, max_age in cookies.writes] == [0, 0, 0]
    assert store.values == {"site_key": 1}
    erase(FakeCookies(), FakeStore(broken=True))  # disabled storage: nothing to erase there


def test_the_erased_keys_are_those_the_sdk_writes() -> None:
    assert STORED_PREFIXES == (KEY_PREFIX, LEASE_PREFIX, MEMBER_KEY)
