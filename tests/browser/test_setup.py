"""Setting the SDK up as a new user would: the script tag alone, a missing or wrong collector,
and what the host's console shows when something goes wrong inside the SDK (debug mode or not)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from allegro_sdk.core.protocol import EVENTS_PATH, SESSIONS_PATH, request_url

from .conftest import Console, Site, violations
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until

SCRIPT_SRC_SELF = "script-src 'self'; connect-src 'self' {collector}"


def strict(site: Site) -> str:
    return STRICT_CSP.format(collector=site.collector_url)


def stored(site: Site, event_id: str) -> dict[str, object]:
    matches = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(matches) == 1
    return matches[0]


def no_traceback(console: Console) -> None:
    every = [m.text for m in console.messages] + console.page_errors
    assert not [text for text in every if "Traceback" in text or ".py" in text], every


def test_the_script_tag_alone_creates_window_allegro(
    site: Site, page: Page, console: Console
) -> None:
    """No inline snippet (a strict CSP, or a site that calls allegro.track later)."""
    html = host_page(sdk_tag(site.collector_url), "Script tag alone")
    serve_page(page, site, "tag-alone", html, SCRIPT_SRC_SELF.format(collector=site.collector_url))
    wait_until(page, "window.allegro && typeof window.allegro.track === 'function'")
    event_id = page.evaluate("allegro.track('page_view').then((r) => r.event_id)")
    assert stored(site, event_id)["page_title"] == "Script tag alone"
    assert page.evaluate("allegro.push(function (a) { window.ran = a === allegro; }), window.ran")
    assert console.errors == []
    no_traceback(console)
    assert violations(page) == []


@pytest.mark.parametrize(
    ("attribute", "said"),
    [
        ("", 'needs data-collector="https://collector.your-site.example"'),
        ('data-collector=""', 'needs data-collector="https://collector.your-site.example"'),
        ('data-collector="collector.example"', "is not an http(s) address"),
        ('data-collector="ftp://collector.example"', "is not an http(s) address"),
        ('data-collector="https://"', "has no host name"),
        ('data-collector="https://collector example"', "contains characters a URL cannot"),
    ],
    ids=["missing", "empty", "no-scheme", "ftp", "no-host", "space"],
)
def test_without_a_valid_collector_nothing_is_sent_anywhere(
    site: Site, page: Page, console: Console, attribute: str, said: str
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    head = (
        snippet(
            "window.allegro = window.allegro || [];"
            "allegro.push(function (a) { a.track('page_view').catch("
            "function (e) { window.refused = e.message; }); });"
        )
        + f'<script async src="/static/allegro.js" {attribute}></script>'
    )
    name = "no-collector-" + str(abs(hash(attribute)))
    serve_page(page, site, name, host_page(head, "No collector"), strict(site))
    refused = str(wait_until(page, "window.refused"))
    login = page.evaluate(
        "allegro.member.login({customer_id: 'c', token: 't'}).then(() => 'ok', (e) => e.message)"
    )
    page.wait_for_timeout(500)  # time enough for a (wrong) request to go out
    assert said in refused and "nothing is sent" in refused
    assert said in login
    assert requests == [page.url, site.url + "/static/allegro.js"]
    assert [t for t in console.texts("error") if said in t and t.startswith("allegro: ")]
    assert console.page_errors == []
    no_traceback(console)


# A page whose crypto.randomUUID throws (as a privacy extension may make it): the SDK cannot start.
BROKEN_UUID = "crypto.randomUUID = function () { throw new Error('blocked by an extension'); };"
# A page whose fetch polyfill answers with something that is not a Response.
BROKEN_FETCH = (
    "window.fetch = function () { return Promise.resolve({status: 'teapot',"
    " headers: {get: function () { return ''; }},"
    " text: function () { return Promise.resolve('{}'); }}); };"
)


def test_a_failed_start_is_one_allegro_line_without_traceback(
    site: Site, page: Page, console: Console
) -> None:
    head = snippet(BROKEN_UUID) + sdk_tag(site.collector_url)
    serve_page(page, site, "broken-start", host_page(head), strict(site))
    wait_until(page, "true")
    page.wait_for_load_state("load")
    page.wait_for_timeout(1000)
    assert console.errors == [
        "allegro: the SDK failed to start (JavascriptError: blocked by an extension): "
        "events will not be tracked on this page; to see where, add data-debug to the SDK's "
        "script tag or ?allegro_debug=1 to the page's address, and report it to the site's "
        "developers"
    ]
    no_traceback(console)


def test_an_internal_error_later_is_one_line_and_never_reaches_the_page(
    site: Site, page: Page, console: Console
) -> None:
    head = snippet(BROKEN_FETCH + "window.allegro = [];") + sdk_tag(site.collector_url)
    serve_page(page, site, "broken-fetch", host_page(head), strict(site))
    wait_until(page, "typeof window.allegro.track === 'function'")
    page.evaluate("allegro.track('page_view').catch(function () {}); 0")
    wait_until(page, "true")
    deadline = 50
    while deadline and not console.errors:
        page.wait_for_timeout(100)
        deadline -= 1
    page.wait_for_timeout(300)
    errors = console.errors
    assert errors, "the internal error was not reported"
    assert all(text.startswith("allegro: internal error (") for text in errors), errors
    assert "tracking goes on" in errors[0] and "add data-debug" in errors[0]
    assert console.page_errors == []
    no_traceback(console)


def test_debug_mode_shows_the_traceback(site: Site, page: Page, console: Console) -> None:
    head = snippet(BROKEN_UUID) + sdk_tag(site.collector_url)
    url = site.add_page("broken-start-debug", host_page(head), strict(site))
    page.goto(url + "?utm_source=x&allegro_debug=1")
    page.wait_for_load_state("load")
    deadline = 50
    while deadline and not any("failed to start" in t for t in console.errors):
        page.wait_for_timeout(100)
        deadline -= 1
    texts = [m.text for m in console.messages]
    traceback = next(text for text in texts if text.startswith("Traceback"))
    assert "bootstrap.py" in traceback and "blocked by an extension" in traceback
    assert texts[-1] == (
        "allegro: the SDK failed to start (JavascriptError: blocked by an extension): "
        "events will not be tracked on this page"
    )
    assert console.page_errors == []


def test_debug_mode_logs_each_event_its_request_and_the_answer(
    site: Site, page: Page, console: Console
) -> None:
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url).replace(
        "<script async", "<script async data-debug"
    )
    serve_page(page, site, "debug-log", host_page(head, "Debugging"), strict(site))
    wait_until(page, "typeof window.allegro.track === 'function'")
    event_id = page.evaluate("allegro.track('signup', {context: 'footer'}).then(r => r.event_id)")
    logs = [m.text for m in console.messages if m.type == "log"]
    tracked = next(t for t in logs if t.startswith(f"allegro: tracked signup {event_id}: {{"))
    assert '"context":"footer"' in tracked and '"page_title":"Debugging"' in tracked
    assert any(
        t.startswith(f"allegro: POST {request_url(site.collector_url, SESSIONS_PATH)}: ")
        for t in logs
    )
    sent = next(
        t
        for t in logs
        if t.startswith(f"allegro: POST {request_url(site.collector_url, EVENTS_PATH)}: ")
    )
    assert event_id in sent
    answer = next(
        t
        for t in logs
        if t.startswith(
            f"allegro: answer 200 from {request_url(site.collector_url, EVENTS_PATH)}: "
        )
    )
    assert event_id in answer
    assert f"allegro: stored signup {event_id}" in logs
    assert console.errors == []
