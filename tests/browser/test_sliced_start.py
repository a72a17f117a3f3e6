"""The SDK starts in slices (docs/build.md): the page runs between them, and nothing it queued
meanwhile is lost or reordered, even when it is left before the SDK is ready.

The CPU is throttled (CDP Emulation.setCPUThrottlingRate) so that the start spans many of the
page's own tasks on any machine.
"""

from __future__ import annotations

from playwright.sync_api import Page

from .conftest import Console, Site
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until

THROTTLE = 10

# Notes when the SDK's script has been evaluated (its element's load event), then pushes one
# function per task of the page's own until two have run after the SDK became ready.
PUMP = snippet(
    "window.ran = []; window.pushed = []; window.evaluated = null;"
    "document.addEventListener('load', function (e) {"
    "  if (e.target.src && e.target.src.indexOf('/static/allegro.js') >= 0) {"
    "    window.evaluated = window.pushed.length; } }, true);"
    "window.allegro = window.allegro || [];"
    "var n = 0, after = 0;"
    "function pump() {"
    "  var i = n++; var queued = Array.isArray(window.allegro);"
    "  window.pushed.push([i, queued]);"
    "  window.allegro.push(function (a) {"
    "    window.ran.push([i, a === window.allegro, typeof a.track]); });"
    "  if (!queued) after++;"
    "  if (after < 2) setTimeout(pump, 0);"
    "}"
    "pump();"
)


def throttled(page: Page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": THROTTLE})


def strict(site: Site) -> str:
    return STRICT_CSP.format(collector=site.collector_url)


def test_commands_pushed_during_the_start_all_run_in_order(
    site: Site, page: Page, console: Console
) -> None:
    throttled(page)
    serve_page(
        page, site, "sliced-order", host_page(PUMP + sdk_tag(site.collector_url)), strict(site)
    )
    wait_until(page, "window.pushed.filter((p) => !p[1]).length >= 2", timeout=60)
    pushed = page.evaluate("window.pushed")
    evaluated = page.evaluate("window.evaluated")
    ran = page.evaluate("window.ran")
    assert evaluated is not None
    during_start = [i for i, queued in pushed[evaluated:] if queued]
    # The page's own tasks ran while the SDK was starting: the start did not hold the thread.
    assert len(during_start) >= 3, pushed
    assert [item[0] for item in ran] == [item[0] for item in pushed]
    assert all(same and kind == "function" for _, same, kind in ran)
    # Pushed once the SDK is ready: run at once, in the push itself.
    assert page.evaluate(
        "() => { let ran = false; allegro.push(function () { ran = true; }); return ran; }"
    )
    assert console.errors == []


def test_an_event_tracked_during_the_start_survives_leaving_the_page(
    own_site: Site, page: Page, console: Console
) -> None:
    site = own_site
    head = snippet(
        "window.evaluated = false;"
        "document.addEventListener('load', function (e) {"
        "  if (e.target.src && e.target.src.indexOf('/static/allegro.js') >= 0) {"
        "    window.evaluated = true; } }, true);"
        "window.allegro = window.allegro || [];"
        "allegro.push(function (a) { a.track('left_during_start'); });"
    ) + sdk_tag(site.collector_url)
    throttled(page)
    serve_page(page, site, "sliced-leave", host_page(head), strict(site))
    wait_until(page, "window.evaluated", timeout=60)
    # Left while the SDK is still starting: the page's queue has not been taken yet.
    assert page.evaluate("Array.isArray(window.allegro)") is True
    page.goto("about:blank")
    # The event was sent as the page was left, or kept in the outbox for the next page: the
    # next page of the site (not throttled) delivers what is left, and it is stored once.
    later = page.context.new_page()
    queue = snippet("window.allegro = window.allegro || [];")
    serve_page(
        later, site, "after-leave", host_page(queue + sdk_tag(site.collector_url)), strict(site)
    )
    wait_until(later, "window.allegro && typeof window.allegro.track === 'function'", timeout=30)

    def stored() -> list[dict[str, object]]:
        return [e for e in site.stored_events() if e["event_name"] == "left_during_start"]

    deadline_checks = 0
    while not stored() and deadline_checks < 150:
        later.wait_for_timeout(100)
        deadline_checks += 1
    events = stored()
    assert len(events) == 1
    assert console.page_errors == []
