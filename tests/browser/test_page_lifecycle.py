"""Automatic page views across the page's lifecycle, in real Chromium: a prerendered page counts
its page view when it is shown, and a page restored from the back/forward cache counts a new one.

Playwright's Chromium cannot show either: DevTools turns prerendering off
("PrerenderingDisabledByDevTools"), and Playwright starts Chromium with the back/forward cache
off. So the prerender test runs Debian's Chromium on its own, headless, and reads the outcome
from the collector; the back/forward-cache test launches a Chromium of its own with the cache on.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import CHROMIUM_ARGS, CHROMIUM_EXECUTABLE
from playwright.sync_api import Browser

from .conftest import Site
from .pages import host_page, wait_until


def auto_tag(site: Site) -> str:
    return (
        f'<script async src="/static/allegro.js" data-collector="{site.collector_url}" '
        'data-page-views="auto"></script>'
    )


def stored_named(
    site: Site, name: str, title: str, count: int, timeout: float = 30.0
) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [
            e for e in site.stored_events() if e["event_name"] == name and e["page_title"] == title
        ]
        if len(found) >= count:
            return sorted(found, key=lambda e: int(str(e["timestamp"])))
        assert time.monotonic() < deadline, f"{count} {name} events of {title!r} not stored"
        time.sleep(0.2)


def test_a_prerendered_page_counts_its_page_view_when_shown(site: Site, tmp_path: Path) -> None:
    # The prerendered page's own calls: a probe when the SDK starts (while still prerendered),
    # and another when the page is shown (its listener runs before the SDK's, added later).
    probes = (
        "<script>window.allegro = window.allegro || [];"
        "allegro.push(function (a) { a.track('prerender_probe', {data: {prerendering:"
        " !!document.prerendering}}); });"
        "document.addEventListener('prerenderingchange', function () {"
        " allegro.push(function (a) { a.track('shown_probe'); }); });</script>"
    )
    shown = site.add_page("prerendered", host_page(probes + auto_tag(site), "Prerendered"), None)
    rules = (
        '<script type="speculationrules">{"prerender": [{"source": "list", "urls": '
        f'["{shown}"]}}]}}</script>'
        f"<script>setTimeout(function () {{ location.href = '{shown}'; }}, 3000);</script>"
    )
    start = site.add_page("prerendering", host_page(rules, "Starting page"), None)
    chromium = subprocess.Popen(
        [CHROMIUM_EXECUTABLE, "--headless", *CHROMIUM_ARGS, f"--user-data-dir={tmp_path}", start],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        [view] = stored_named(site, "page_view", "Prerendered", 1)
        [started] = stored_named(site, "prerender_probe", "Prerendered", 1)
        [activated] = stored_named(site, "shown_probe", "Prerendered", 1)
    finally:
        chromium.kill()
        chromium.wait(timeout=10)
    assert started["data"] == {"prerendering": True}  # the SDK ran while the page was prerendered
    # The page view was counted when the page was shown, not while it was prerendered.
    assert int(str(view["timestamp"])) >= int(str(activated["timestamp"]))
    assert activated["conversion_pv_id"] is None  # tracked before the page view existed


@pytest.fixture
def browser_with_bfcache(browser: Browser) -> Iterator[Browser]:
    """A second Chromium of the same Playwright, with the back/forward cache on."""
    with_cache = browser.browser_type.launch(
        executable_path=CHROMIUM_EXECUTABLE,
        args=list(CHROMIUM_ARGS),
        ignore_default_args=["--disable-back-forward-cache"],
    )
    yield with_cache
    with_cache.close()


def test_a_back_forward_cache_restore_is_a_new_page_view(
    site: Site, browser_with_bfcache: Browser
) -> None:
    other = site.add_page("bfcache-other", host_page("", "Elsewhere"), None)
    cached = site.add_page(
        "bfcache-home",
        host_page(auto_tag(site), "Cached page").replace(
            "<p>host</p>", f'<a id="away" href="{other}">away</a>'
        ),
        None,
    )
    context = browser_with_bfcache.new_context()
    try:
        page = context.new_page()
        page.goto(cached)
        stored_named(site, "page_view", "Cached page", 1)
        page.evaluate(
            "window.addEventListener('pageshow', function (e) { window.restored = e.persisted; })"
        )
        page.click("#away")
        page.wait_for_url(other)
        page.evaluate("setTimeout(function () { history.back(); }, 0)")
        page.wait_for_url(cached, wait_until="commit")
        assert wait_until(page, "window.restored === true")  # it came from the cache
        views = stored_named(site, "page_view", "Cached page", 2)
    finally:
        context.close()
    assert views[0]["event_id"] != views[1]["event_id"]
    assert views[0]["url"] == views[1]["url"] == cached
