"""Device and session cookies, session creation and CSRF renewal, in real Chromium."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, Route

from allegro_sdk.core.protocol import EVENTS_PATH, SESSIONS_PATH, request_url

from .conftest import Console, Site
from .pages import STRICT_CSP, host_page, serve_page, snippet, wait_until

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DAY = 24 * 3600
MINUTE_MS = 60 * 1000


def sdk_page(site: Site, page: Page, name: str, tag_attributes: str = "") -> None:
    head = snippet("window.allegro = window.allegro || [];") + (
        f'<script async src="/static/allegro.js" data-collector="{site.collector_url}"'
        f" {tag_attributes}></script>"
    )
    csp = STRICT_CSP.format(collector=site.collector_url)
    serve_page(page, site, name, host_page(head, name), csp)
    wait_until(page, "typeof window.allegro.track === 'function'")


def track(page: Page, name: str = "page_view") -> str:
    result: dict[str, str] = page.evaluate("(name) => allegro.track(name)", name)
    return result["event_id"]


def session_requests(page: Page) -> list[dict[str, object]]:
    """Records the bodies of the page's POST /v1/sessions requests."""
    bodies: list[dict[str, object]] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and urlsplit(request.url).path == SESSIONS_PATH:
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", seen)
    return bodies


def cookies(page: Page) -> dict[str, dict[str, object]]:
    return {str(c["name"]): dict(c) for c in page.context.cookies()}


def stored(site: Site, event_id: str) -> dict[str, object]:
    matches = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(matches) == 1
    return matches[0]


def test_the_cookies_have_the_spec_attributes(site: Site, page: Page, console: Console) -> None:
    sdk_page(site, page, "cookies")
    event = stored(site, track(page))
    jar = cookies(page)
    device, session = jar["allegro_device_id"], jar["allegro_session_id"]
    assert UUID4.match(str(device["value"]))
    assert event["device_id"] == device["value"] and event["session_id"] == session["value"]
    now = time.time()
    # Max-Age=315360000 (10 years) is asked for; Chromium caps script-set cookies at 400 days.
    assert 399 * DAY < float(device["expires"]) - now <= 10 * 365 * DAY + DAY  # type: ignore[arg-type]
    assert 1800 - 120 < float(session["expires"]) - now <= 1800 + 5  # type: ignore[arg-type]
    token = jar["allegro_session_token"]
    # "<session id>|<its last token>": the proof, with the session it proves beside it.
    assert str(token["value"]).partition("|")[0] == session["value"]
    assert 3600 - 120 < float(token["expires"]) - now <= 3600 + 5  # type: ignore[arg-type]
    for cookie in (device, session, token):
        assert cookie["path"] == "/" and cookie["sameSite"] == "Lax"
        assert cookie["secure"] is False and cookie["httpOnly"] is False
    assert console.errors == []


def test_an_existing_device_id_is_kept_and_a_malformed_one_replaced(site: Site, page: Page) -> None:
    kept = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    page.context.add_cookies([{"name": "allegro_device_id", "value": kept, "url": site.url}])
    sdk_page(site, page, "device-kept")
    assert stored(site, track(page))["device_id"] == kept
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "allegro_device_id", "value": "not-a-uuid", "url": site.url}]
    )
    sdk_page(site, page, "device-replaced")
    replaced = stored(site, track(page))["device_id"]
    assert replaced != "not-a-uuid" and UUID4.match(str(replaced))
    assert cookies(page)["allegro_device_id"]["value"] == replaced


def test_a_burst_of_ten_tracks_creates_one_session(site: Site, page: Page) -> None:
    requests = session_requests(page)
    sdk_page(site, page, "burst")
    ids = page.evaluate(
        """async () => {
            const calls = [];
            for (let i = 0; i < 10; i++) calls.push(allegro.track('burst_' + i));
            return (await Promise.all(calls)).map((r) => r.event_id);
        }"""
    )
    assert len(requests) == 1
    sessions = {stored(site, event_id)["session_id"] for event_id in ids}
    assert len(sessions) == 1


def test_cookies_changed_outside_the_sdk_are_seen_by_the_next_track(site: Site, page: Page) -> None:
    # The SDK reads document.cookie once per task: a change made between two tasks (the session
    # expiring, another tab, the site's own code) must reach the next event.
    sdk_page(site, page, "cookies-changed")
    first = stored(site, track(page))
    page.context.clear_cookies(name="allegro_session_id")
    second = stored(site, track(page))
    assert second["device_id"] == first["device_id"]
    assert second["session_id"] != first["session_id"]
    kept = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    page.evaluate("(id) => { document.cookie = 'allegro_device_id=' + id + '; Path=/'; }", kept)
    assert stored(site, track(page))["device_id"] == kept


def test_two_pages_of_one_browser_share_the_session(site: Site, page: Page) -> None:
    sdk_page(site, page, "tab-one")
    first = stored(site, track(page))
    stored_token = str(cookies(page)["allegro_session_token"]["value"]).split("|")
    second_tab = page.context.new_page()
    requests = session_requests(second_tab)
    sdk_page(site, second_tab, "tab-two")
    second = stored(site, track(second_tab))
    assert second["session_id"] == first["session_id"]
    assert second["device_id"] == first["device_id"]
    # The second tab took the session and its token from the cookies (the token cookie names its
    # session, its expiry, no member and its device), asking the collector nothing.
    assert stored_token[0] == first["session_id"]
    assert stored_token[3:] == ["0", first["device_id"]]
    assert requests == []


def test_a_page_renews_a_stored_token_near_its_expiry_with_it_as_proof(
    site: Site, page: Page
) -> None:
    sdk_page(site, page, "tab-one")
    first = stored(site, track(page))
    session_id, token, expires_at, *_ = str(cookies(page)["allegro_session_token"]["value"]).split(
        "|"
    )
    page.clock.install(time=(int(expires_at) - 30_000) / 1000)  # 30 s before the token expires
    requests = session_requests(page)
    sdk_page(site, page, "reloaded")
    second = stored(site, track(page))
    assert second["session_id"] == first["session_id"]
    assert requests == [
        {"device_id": first["device_id"], "session_id": session_id, "csrf_token": token}
    ]


def test_the_session_slides_with_activity_and_ends_after_30_idle_minutes(
    site: Site, page: Page
) -> None:
    page.clock.install()
    sdk_page(site, page, "sliding")
    first = stored(site, track(page))["session_id"]
    page.clock.fast_forward(29 * MINUTE_MS)
    assert stored(site, track(page))["session_id"] == first
    page.clock.fast_forward(29 * MINUTE_MS)
    assert stored(site, track(page))["session_id"] == first
    page.clock.fast_forward(31 * MINUTE_MS)
    later = stored(site, track(page))["session_id"]
    assert later != first
    assert cookies(page)["allegro_session_id"]["value"] == later


def test_a_refused_token_is_renewed_once_and_the_event_stored_once(
    site: Site, page: Page, console: Console
) -> None:
    refused: list[str] = []

    def refuse_first(route: Route) -> None:
        if route.request.method == "POST" and not refused:
            refused.append(route.request.url)
            route.fulfill(
                status=403,
                headers={"Access-Control-Allow-Origin": site.url},
                json={"error": {"field": "csrf_token", "message": "CSRF token has expired"}},
            )
        else:
            route.continue_()

    page.route(request_url(site.collector_url, EVENTS_PATH), refuse_first)
    requests = session_requests(page)
    sdk_page(site, page, "renewal")
    event = stored(site, track(page))
    assert len(refused) == 1 and len(requests) == 2
    assert requests[1]["session_id"] == event["session_id"]


def test_where_cookies_are_blocked_tracking_goes_on_in_memory(
    site: Site, page: Page, console: Console
) -> None:
    # What a browser with cookies blocked does: document.cookie ignores writes, reads nothing.
    page.add_init_script(
        "Object.defineProperty(Document.prototype, 'cookie',"
        " {get() { return ''; }, set(value) {}, configurable: true});"
    )
    sdk_page(site, page, "no-cookies")
    first, second = stored(site, track(page)), stored(site, track(page))
    assert UUID4.match(str(first["device_id"]))
    assert (second["device_id"], second["session_id"]) == (first["device_id"], first["session_id"])
    warnings = [t for t in console.texts("warning") if "cookies cannot be stored" in t]
    assert len(warnings) == 1
    assert console.errors == []


def test_a_cookie_domain_that_does_not_fit_the_page_is_refused_loudly(
    site: Site, page: Page, console: Console
) -> None:
    sdk_page(site, page, "wrong-domain", 'data-cookie-domain=".example.com"')
    event = stored(site, track(page))
    assert any(
        'data-cookie-domain=".example.com" does not match' in text for text in console.errors
    )
    assert cookies(page)["allegro_session_id"]["domain"] == "127.0.0.1"
    assert event["session_id"] == cookies(page)["allegro_session_id"]["value"]
