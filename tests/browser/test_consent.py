"""Consent in real Chromium against a real collector: opt-in mode, grant and deny, Global Privacy
Control and Do Not Track. What a visitor (or their browser's privacy tools) would notice: cookies,
storage, requests to the collector, what the collector stored, and no error in the page."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Request

from .conftest import Console, Site
from .pages import STRICT_CSP, host_page, serve_page, snippet, wait_until

# Records every unhandled promise rejection, from the first moment of every page.
REJECTIONS = """
window.__rejections = [];
window.addEventListener('unhandledrejection', function (e) {
  window.__rejections.push(String(e.reason));
});
"""
GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
DNT = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});"
# Long enough for the SDK to have sent what it would send (it sends in the task after track()).
SETTLE_MS = 1500
SDK_KEYS = "Object.keys(localStorage).filter(k => k.startsWith('allegro'))"


class Requests:
    """Every request the page makes to the collector."""

    def __init__(self, page: Page, collector_url: str) -> None:
        self.seen: list[Request] = []
        page.on(
            "request", lambda r: self.seen.append(r) if r.url.startswith(collector_url) else None
        )

    def event_ids(self) -> list[str]:
        """The event_ids of every POST /v1/events, once per time it was sent."""
        ids = []
        for request in self.seen:
            if request.url.endswith("/v1/events") and request.post_data:
                ids += [str(e["event_id"]) for e in json.loads(request.post_data)["events"]]
        return ids


@pytest.fixture
def watched(page: Page, site: Site) -> Iterator[Requests]:
    page.add_init_script(REJECTIONS)
    requests = Requests(page, site.collector_url)
    yield requests
    assert page.evaluate("window.__rejections") == []


def open_page(site: Site, page: Page, name: str, attributes: str = "", head: str = "") -> None:
    head = (
        snippet("window.allegro = window.allegro || [];" + head)
        + f'<script async src="/static/allegro.js" data-collector="{site.collector_url}"'
        f" {attributes}></script>"
    )
    serve_page(
        page, site, name, host_page(head, name), STRICT_CSP.format(collector=site.collector_url)
    )
    wait_until(page, "typeof window.allegro.track === 'function'")


def cookie_names(page: Page) -> list[str]:
    return sorted(str(c["name"]) for c in page.context.cookies())


def storage(page: Page) -> dict[str, int]:
    return page.evaluate("({local: localStorage.length, session: sessionStorage.length})")


def settle(page: Page) -> None:
    page.wait_for_timeout(SETTLE_MS)


def stored_count(site: Site, event_id: str) -> int:
    return sum(1 for e in site.stored_events() if e["event_id"] == event_id)


def test_opt_in_stores_and_sends_nothing_until_grant_then_sends_the_waiting_events_once(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    open_page(
        site,
        page,
        "opt-in-grant",
        'data-consent="opt-in"',
        "allegro.push(function (a) {"
        "  window.before = a.consent.status();"
        "  window.first = a.track('page_view');"
        "});",
    )
    page.evaluate("() => { window.second = allegro.track('article_read', {content_id: 'a-1'}); }")
    settle(page)
    assert page.evaluate("allegro.consent.status()") == "pending"
    assert page.evaluate("window.before") == "pending"
    assert cookie_names(page) == []
    assert storage(page) == {"local": 0, "session": 0}
    assert watched.seen == []

    results = page.evaluate(
        "async () => { allegro.consent.grant(); return [await window.first, await window.second]; }"
    )
    assert [r["stored"] for r in results] == [True, True]
    assert page.evaluate("allegro.consent.status()") == "granted"
    settle(page)  # a second sending would have gone by now
    for result in results:
        assert stored_count(site, result["event_id"]) == 1
        assert watched.event_ids().count(result["event_id"]) == 1
    names = cookie_names(page)
    assert "allegro_device_id" in names and "allegro_consent" in names
    assert page.context.cookies()[names.index("allegro_consent")]["value"] == "granted"
    assert console.errors == []


def test_deny_in_opt_in_mode_drops_the_waiting_events_and_keeps_nothing(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    open_page(site, page, "opt-in-deny", 'data-consent="opt-in"')
    page.evaluate("() => { window.waiting = allegro.track('page_view'); }")
    result = page.evaluate("async () => { allegro.consent.deny(); return await window.waiting; }")
    assert result["stored"] is False and len(result["event_id"]) == 36
    later = page.evaluate("allegro.track('purchase')")
    assert later["stored"] is False
    page.reload()
    wait_until(page, "typeof window.allegro.track === 'function'")
    assert page.evaluate("allegro.consent.status()") == "denied"  # the choice persists
    assert page.evaluate("allegro.track('page_view')")["stored"] is False
    settle(page)
    assert watched.seen == []
    assert cookie_names(page) == ["allegro_consent"]
    assert page.context.cookies()[0]["value"] == "denied"
    assert storage(page) == {"local": 0, "session": 0}
    assert stored_count(site, result["event_id"]) == 0
    assert console.errors == []


def test_deny_after_tracking_clears_cookies_and_storage_and_stops_sending(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    open_page(site, page, "deny-later")
    token = site.member_token("consent-reader")
    page.evaluate(
        "(token) => allegro.member.login({customer_id: 'consent-reader', token: token})", token
    )
    first = page.evaluate("allegro.track('page_view')")
    assert first["stored"] is True
    # The collector stops answering: the next event waits in the outbox (localStorage).
    page.route(f"{site.collector_url}/v1/events", lambda route: route.abort())
    page.evaluate("() => { window.waiting = allegro.track('purchase'); }")
    wait_until(page, f"{SDK_KEYS}.some(k => k.startsWith('allegro_outbox:'))")
    assert {"allegro_device_id", "allegro_session_id", "allegro_session_token"} <= set(
        cookie_names(page)
    )
    assert "allegro_member" in page.evaluate(SDK_KEYS)

    result = page.evaluate("async () => { allegro.consent.deny(); return await window.waiting; }")
    assert result["stored"] is False
    assert cookie_names(page) == ["allegro_consent"]
    assert page.evaluate(SDK_KEYS) == []
    assert page.evaluate("allegro.member.current()") is None
    page.unroute(f"{site.collector_url}/v1/events")
    sent_before = len(watched.seen)
    page.wait_for_timeout(3000)  # past the sender's first retries (1 s, then 2 s)
    assert len(watched.seen) == sent_before
    assert stored_count(site, result["event_id"]) == 0
    assert page.evaluate("allegro.track('page_view')")["stored"] is False
    assert cookie_names(page) == ["allegro_consent"]
    # Chromium's own line for the request the test made fail; nothing from the SDK.
    assert [e for e in console.errors if "net::ERR_FAILED" not in e] == []


def test_global_privacy_control_means_denied_without_an_identifying_cookie_or_a_request(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    # A device id from before the visitor turned GPC on is removed at the page's start.
    page.context.add_cookies(
        [
            {
                "name": "allegro_device_id",
                "value": "0c9f6d1e-1a5b-4c2d-9e3f-5a6b7c8d9e0f",
                "url": site.url,
            }
        ]
    )
    page.add_init_script(GPC)
    open_page(
        site,
        page,
        "gpc",
        head="allegro.push(function (a) { window.first = a.track('page_view'); });",
    )
    assert page.evaluate("navigator.globalPrivacyControl") is True
    assert page.evaluate("allegro.consent.status()") == "denied"
    assert page.evaluate("window.first")["stored"] is False
    settle(page)
    assert watched.seen == []
    assert cookie_names(page) == []
    assert storage(page) == {"local": 0, "session": 0}

    # The site asked the visitor, who said yes: grant() wins over the signal.
    result = page.evaluate(
        "async () => { allegro.consent.grant(); return allegro.track('page_view'); }"
    )
    assert result["stored"] is True and stored_count(site, result["event_id"]) == 1
    assert console.errors == []


def test_do_not_track_counts_only_where_the_site_honours_it(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    page.add_init_script(DNT)
    open_page(site, page, "dnt-ignored")
    assert page.evaluate("allegro.consent.status()") == "granted"
    assert page.evaluate("allegro.track('page_view')")["stored"] is True
    page.context.clear_cookies()
    open_page(site, page, "dnt-honoured", "data-honor-dnt")
    assert page.evaluate("allegro.consent.status()") == "denied"
    sent_before = len(watched.seen)
    assert page.evaluate("allegro.track('page_view')")["stored"] is False
    settle(page)
    assert len(watched.seen) == sent_before
    assert "allegro_device_id" not in cookie_names(page)
    assert console.errors == []


def test_consent_functions_pushed_before_the_sdk_loaded_run_in_order(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    open_page(
        site,
        page,
        "pushed-consent",
        'data-consent="opt-in"',
        "window.seen = [];"
        "allegro.push(function (a) { window.seen.push(a.consent.status());"
        "  window.viewed = a.track('page_view'); });"
        "allegro.push(function (a) { a.consent.grant(); window.seen.push(a.consent.status()); });",
    )
    assert page.evaluate("window.seen") == ["pending", "granted"]
    result = page.evaluate("window.viewed")
    assert result["stored"] is True and stored_count(site, result["event_id"]) == 1
    assert console.errors == []


def test_a_wrong_consent_mode_is_reported_and_read_as_opt_in(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    open_page(site, page, "typo", 'data-consent="optin"')
    assert page.evaluate("allegro.consent.status()") == "pending"
    assert any('allegro: data-consent="optin" is not an option' in t for t in console.errors)
    page.evaluate("() => { allegro.track('page_view'); }")
    settle(page)
    assert watched.seen == [] and cookie_names(page) == []


def test_the_demo_privacy_page_sends_nothing_until_accept_and_reject_stops_the_whole_site(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    page.goto(site.url + "/privacy")
    status = page.locator("#consent-status")
    status.filter(has_text="You have not chosen yet").wait_for()
    page.locator("#last-event", has_text="kept in memory").wait_for()
    settle(page)
    assert watched.seen == [] and cookie_names(page) == []
    assert storage(page) == {"local": 0, "session": 0}

    page.click("#consent-accept")
    page.locator("#last-event", has_text="stored").wait_for(timeout=15000)
    event_id = str(page.text_content("#last-event")).rsplit(" ", 1)[-1]
    stored = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(stored) == 1 and stored[0]["context"] == "privacy"
    assert stored[0]["url"] == site.url + "/privacy"
    assert "You accepted" in str(status.text_content())

    page.click("#consent-reject")
    status.filter(has_text="You rejected").wait_for()
    assert cookie_names(page) == ["allegro_consent"]
    assert page.evaluate(SDK_KEYS) == []
    # The choice holds on the site's other pages, which do not ask (default mode).
    sent_before = len(watched.seen)
    page.goto(site.url + "/")
    page.locator("#last-event", has_text="not sent").wait_for(timeout=15000)
    settle(page)
    assert len(watched.seen) == sent_before
    assert cookie_names(page) == ["allegro_consent"]
    assert console.errors == []


def test_a_choice_made_in_another_tab_takes_effect_at_the_next_track(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    open_page(site, page, "tab-a", 'data-consent="opt-in"')
    page.evaluate("() => { window.waiting = allegro.track('page_view'); }")
    other = page.context.new_page()
    other.goto(site.add_page("tab-b", page.content(), None))
    wait_until(other, "typeof window.allegro.track === 'function'")
    other.evaluate("allegro.consent.grant()")
    other.close()
    assert page.evaluate("allegro.consent.status()") == "granted"  # the shared cookie
    later = page.evaluate("allegro.track('article_read')")
    first = page.evaluate("window.waiting")
    assert first["stored"] is True and later["stored"] is True
    assert stored_count(site, first["event_id"]) == 1
    assert console.errors == []


def test_debug_mode_says_why_an_event_was_not_stored(
    site: Site, page: Page, console: Console, watched: Requests
) -> None:
    page.add_init_script(GPC)
    open_page(site, page, "debug-consent", "data-debug")
    result = page.evaluate("allegro.track('page_view')")
    assert result["stored"] is False
    logged = [t for t in console.texts("log") if t.startswith("allegro: not stored page_view")]
    assert logged == [
        f"allegro: not stored page_view {result['event_id']}: not stored: consent is denied"
    ]
    assert watched.seen == []


def test_without_a_collector_the_consent_api_still_works(
    site: Site, page: Page, console: Console
) -> None:
    page.add_init_script(REJECTIONS)
    head = snippet("window.allegro = window.allegro || [];") + (
        '<script async src="/static/allegro.js" data-consent="opt-in"></script>'
    )
    serve_page(
        page, site, "no-collector", host_page(head), STRICT_CSP.format(collector=site.collector_url)
    )
    wait_until(page, "typeof window.allegro.track === 'function'")
    assert page.evaluate("allegro.consent.status()") == "pending"
    page.evaluate("allegro.consent.deny()")
    assert page.evaluate("allegro.consent.status()") == "denied"
    assert cookie_names(page) == ["allegro_consent"]
    assert page.evaluate("window.__rejections") == []
