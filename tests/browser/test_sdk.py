"""The SDK in real headless Chromium, against a real collector: what a publisher would notice."""

from __future__ import annotations

import re
from pathlib import Path

import brython
import pytest
from playwright.sync_api import Page

from .conftest import Console, Site, violations
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until

UUID7_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def strict(site: Site) -> str:
    return STRICT_CSP.format(collector=site.collector_url)


def test_demo_page_stores_its_page_view(site: Site, page: Page, console: Console) -> None:
    page.goto(site.url + "/")
    page.locator("#last-event", has_text="stored").wait_for(timeout=15000)
    event_id = page.text_content("#last-event").rsplit(" ", 1)[-1]  # type: ignore[union-attr]
    stored = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(stored) == 1
    event = stored[0]
    assert event["event_name"] == "page_view"
    assert event["url"] == site.url + "/"
    assert event["page_title"] == "The Daily Allegro: music news from the city"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert event["device_id"] == cookies["allegro_device_id"]
    assert event["session_id"] == cookies["allegro_session_id"]
    assert console.errors == []
    assert violations(page) == []


def test_queue_runs_in_order_then_push_runs_at_once(
    site: Site, page: Page, console: Console
) -> None:
    head = snippet(
        "window.order = [];"
        "window.allegro = window.allegro || [];"
        "allegro.push(function (a) { order.push('first:' + (a === window.allegro)); });"
        "allegro.push(function () { throw new Error('a broken tag'); });"
        "allegro.push('not a function');"
        "allegro.push(function () { order.push('third'); });"
    ) + sdk_tag(site.collector_url)
    serve_page(page, site, "queue", host_page(head), strict(site))
    wait_until(page, "window.order.length === 2")
    ran_at_once = page.evaluate(
        "() => { let ran = false; allegro.push(function () { ran = true; }); return ran; }"
    )
    assert page.evaluate("window.order") == ["first:true", "third"]
    assert ran_at_once is True
    assert page.evaluate("Array.isArray(window.allegro)") is False
    assert any("allegro: a function pushed to allegro threw" in t for t in console.texts("error"))
    assert any("allegro: allegro.push() takes a function" in t for t in console.texts("warning"))
    assert console.page_errors == []
    assert violations(page) == []


def test_track_resolves_with_the_stored_event_id(site: Site, page: Page, console: Console) -> None:
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url)
    serve_page(page, site, "track", host_page(head, "Buying things"), strict(site))
    wait_until(page, "typeof window.allegro.track === 'function'")
    result = page.evaluate(
        """async () => {
            const promise = allegro.track('purchase', {
                content_id: 'sku-789', publisher: 'Daily News',
                data: {product_id: 'sku-789', price: 9.99, currency: 'USD', gift: null}});
            const value = await promise;
            return {isPromise: promise instanceof Promise, value,
                    plain: Object.getPrototypeOf(value) === Object.prototype};
        }"""
    )
    assert result["isPromise"] and result["plain"]
    event_id = result["value"]["event_id"]
    assert result["value"] == {"event_id": result["value"]["event_id"], "stored": True}
    stored = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(stored) == 1
    assert stored[0]["event_name"] == "purchase"
    assert stored[0]["content_id"] == "sku-789"
    assert stored[0]["publisher"] == "Daily News"
    assert stored[0]["page_title"] == "Buying things"
    assert stored[0]["data"] == {
        "product_id": "sku-789",
        "price": 9.99,
        "currency": "USD",
        "gift": None,
    }
    assert re.match(UUID7_PATTERN, event_id)  # time first: the collector's index grows at one end
    assert int(event_id.replace("-", "")[:12], 16) == stored[0]["timestamp"]
    assert console.errors == []


def test_bad_calls_reject_with_errors_that_say_what_was_wrong(
    site: Site, page: Page, console: Console
) -> None:
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url)
    serve_page(page, site, "bad-calls", host_page(head), strict(site))
    wait_until(page, "typeof window.allegro.track === 'function'")
    outcomes = page.evaluate(
        """async () => {
            const calls = [[], [''], [42], ['ok', 'not an object'], ['ok', [1, 2]],
                           ['ok', {colour: 'red'}], ['ok', {data: 'x'}],
                           ['ok', {content_id: 7}], ['ok', {data: {when: new Date(0)}}],
                           ['ok', {page_title: 'a\\u0000b'}]];
            const out = [];
            for (const args of calls) {
                try { await allegro.track(...args); out.push('resolved'); }
                catch (e) {
                    out.push((e instanceof Error ? 'Error: ' : 'not an Error: ') + e.message);
                }
            }
            return out;
        }"""
    )
    assert outcomes[0] == "Error: track() needs an event name, e.g. allegro.track('page_view')"
    assert outcomes[1] == "Error: track(): the event name must not be empty"
    assert outcomes[2] == "Error: track(): the event name must be a string, got the number 42"
    assert "second argument must be a plain object" in outcomes[3]
    assert "got an array" in outcomes[4]
    assert "unknown field 'colour'" in outcomes[5]
    assert "'data' must be a plain object" in outcomes[6]
    assert "'content_id' must be a string" in outcomes[7]
    # A Date inside data is sent as JSON would send it (a string): it is not an error.
    assert outcomes[8] == "resolved"
    # The collector could not store it (a database text column cannot hold U+0000).
    assert outcomes[9] == (
        "Error: track(): 'page_title' contains a NUL character (U+0000), which cannot be stored"
    )
    logged = console.texts("error")
    assert sum(text.startswith("allegro: track()") for text in logged) == 9
    assert console.page_errors == []
    assert site.stored_events(session_id="none") == []


def test_loading_the_script_twice_starts_one_sdk(site: Site, page: Page, console: Console) -> None:
    head = (
        snippet(
            "window.runs = 0; window.acknowledged = 0;"
            "window.allegro = window.allegro || [];"
            "allegro.push(function (a) { runs += 1;"
            " a.track('page_view').then(function () { acknowledged += 1; }); });"
        )
        + sdk_tag(site.collector_url)
        + sdk_tag(site.collector_url)
    )
    serve_page(page, site, "twice", host_page(head, "Loaded twice"), strict(site))
    wait_until(page, "window.acknowledged === 1")
    first_api = page.evaluate("() => { window.firstApi = window.allegro; return true; }")
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)  # time enough for a second copy to (wrongly) start
    assert first_api and page.evaluate("window.firstApi === window.allegro")
    assert page.evaluate("[window.runs, window.acknowledged]") == [1, 1]
    session = {c["name"]: c["value"] for c in page.context.cookies()}["allegro_session_id"]
    views = [e for e in site.stored_events(session_id=session) if e["page_title"] == "Loaded twice"]
    assert len(views) == 1
    assert console.errors == []


def test_the_runtime_stays_private(site: Site, page: Page) -> None:
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url)
    serve_page(page, site, "private", host_page(head), strict(site))
    wait_until(page, "typeof window.allegro.track === 'function'")
    leaked = page.evaluate(
        "['__BRYTHON__', 'brython', '$B', '_b_'].filter((name) => name in window)"
    )
    assert leaked == []
    assert page.evaluate("customElements.get('brython-options')") is None


def host_brython_page(site: Site, ours_first: bool) -> str:
    host_python = (
        '<script type="text/python">\n'
        "from browser import document\n"
        "document['host'].text = 'host python ran ' + str(int('ff', 16))\n"
        "</script>"
    )
    host_runtime = '<script src="/host/brython.js"></script>'
    queued = snippet(
        "window.allegro = window.allegro || [];"
        "allegro.push(function (a) { a.track('page_view').then("
        "function (r) { document.title = 'tracked ' + r.event_id; }); });"
    )
    ours = sdk_tag(site.collector_url)
    scripts = queued + (ours + host_runtime if ours_first else host_runtime + ours)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>host with Brython</title>{scripts}</head>"
        f'<body onload="brython()"><p id="host">waiting</p>{host_python}</body></html>'
    )


HOST_BRYTHONS = {
    "3.15.0": Path(brython.__file__).resolve().parent / "data" / "brython.js",
    # Fetched by `make test` (Makefile: HOST_BRYTHON).
    "3.14.3": Path(__file__).resolve().parents[2] / ".cache" / "brython-3.14.3.js",
}


@pytest.mark.parametrize("version", list(HOST_BRYTHONS))
@pytest.mark.parametrize("ours_first", [True, False], ids=["ours-first", "host-first"])
def test_a_host_page_with_its_own_brython_keeps_working(
    site: Site, page: Page, console: Console, version: str, ours_first: bool
) -> None:
    runtime = HOST_BRYTHONS[version]
    assert runtime.is_file(), f"{runtime} is missing: `make test` downloads it"
    # The host serves its own runtime.
    page.route(
        site.url + "/host/brython.js",
        lambda route: route.fulfill(
            status=200, body=runtime.read_bytes(), headers={"Content-Type": "text/javascript"}
        ),
    )
    # The host's own Brython needs 'unsafe-eval' and an inline onload: no CSP on this page.
    name = f"host-brython-{version}-{ours_first}"
    serve_page(page, site, name, host_brython_page(site, ours_first), None)
    page.locator("#host", has_text="host python ran 255").wait_for(timeout=15000)
    title = str(wait_until(page, "document.title.startsWith('tracked ') && document.title"))
    event_id = title.removeprefix("tracked ")
    assert [e["event_id"] for e in site.stored_events() if e["event_id"] == event_id] == [event_id]
    expected = [int(part) for part in version.split(".")[:2]]
    assert page.evaluate("__BRYTHON__.version_info.slice(0, 2)") == expected
    assert console.page_errors == []
