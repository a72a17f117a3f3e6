"""What the collector stores about the page's address: the URL as visited (campaign kept), the
canonical URL apart, campaign columns, personal parameters stripped; and metadata a page only has
once it is parsed. In real Chromium, against a real collector."""

from __future__ import annotations

import threading
import time

from playwright.sync_api import Page

from .conftest import Console, Site
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until

TRACK_PAGE_VIEW = snippet(
    "window.allegro = window.allegro || [];"
    "allegro.push(function (a) { a.track('page_view').then("
    "function (r) { window.tracked = r.event_id; }); });"
)


def strict(site: Site) -> str:
    return STRICT_CSP.format(collector=site.collector_url)


def stored(site: Site, event_id: str) -> dict[str, object]:
    matches = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(matches) == 1
    return matches[0]


def test_a_campaign_visit_keeps_its_campaign_and_the_canonical_url_apart(
    site: Site, page: Page, console: Console
) -> None:
    canonical = '<link rel="canonical" href="/story">'
    tag = sdk_tag(site.collector_url).replace(
        "<script async", '<script async data-strip-params="member"'
    )
    target = site.add_page("next", host_page("", "Next"), strict(site))
    link = f'<a id="next" href="{target}?ref=story&token=abc" data-allegro-track="link_click">'
    html = host_page(canonical + TRACK_PAGE_VIEW + tag, "Fall sale story").replace(
        "<p>host</p>", link + "next</a>"
    )
    url = site.add_page("story", html, strict(site))
    page.goto(
        url + "?utm_source=newsletter&utm_medium=email&utm_campaign=fall-sale&gclid=G-1"
        "&email=reader%40mail.example&member=42#comments",
        referer=site.url + "/inbox?email=reader%40mail.example&folder=news",
    )
    event = stored(site, str(wait_until(page, "window.tracked")))
    visited = url + "?utm_source=newsletter&utm_medium=email&utm_campaign=fall-sale&gclid=G-1"
    assert event["url"] == visited  # fragment dropped, email (default) and member (tag) stripped
    assert event["canonical_url"] == site.url + "/story"
    assert event["referer"] == site.url + "/inbox?folder=news"
    campaign = {k: event[k] for k in ("utm_source", "utm_medium", "utm_campaign", "gclid")}
    assert campaign == {
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "fall-sale",
        "gclid": "G-1",
    }
    assert event["utm_term"] is None and event["fbclid"] is None and event["msclkid"] is None
    page.click("#next")
    page.wait_for_url(target + "?ref=story&token=abc")

    def clicks() -> list[dict[str, object]]:
        return [e for e in site.stored_events() if e["event_name"] == "link_click"]

    wait_until(page, "true")
    for _ in range(100):
        if clicks():
            break
        page.wait_for_timeout(100)
    [click] = [c for c in clicks() if c["url"] == visited]
    assert click["url_in_click"] == target + "?ref=story"
    assert console.errors == []


# Notes when the SDK's script has been evaluated (its element's load event): from then on, only
# the SDK's start (which waits for the parse) stands between the page's queue and the SDK.
EVALUATED = snippet(
    "window.evaluated = false;"
    "document.addEventListener('load', function (e) {"
    "  if (e.target.src && e.target.src.indexOf('/static/allegro.js') >= 0) {"
    "    window.evaluated = true; } }, true);"
)
REST = (
    '<link rel="canonical" href="/stories/late">'
    "<title>The title that came late</title>"
    '<meta property="og:site_name" content="Late News">'
    "<p>the rest</p></body></html>"
)


def streamed_head(site: Site, title: str = "") -> str:
    """The page's first part: it pushes a page_view; the SDK's script tag is in it."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        + (f"<title>{title}</title>" if title else "")
        + EVALUATED
        + TRACK_PAGE_VIEW
        + sdk_tag(site.collector_url)
        + "</head><body><p>the first part of a long page</p>"
    )


def test_metadata_of_a_page_still_arriving_is_read_once_it_is_parsed(
    site: Site, page: Page, console: Console
) -> None:
    # The rest comes 1.5 s after the head, and not before the SDK's script has been evaluated (on
    # a busy machine it may take longer than that to arrive): the page_view is pushed, and the SDK
    # is there, while the page is still loading.
    sdk_ran = threading.Event()
    url = site.add_streamed_page(
        "late-metadata", [(0, None, streamed_head(site)), (1.5, sdk_ran, REST)]
    )
    try:
        page.goto(url, wait_until="commit")
        wait_until(page, "window.evaluated")
        assert page.evaluate("document.readyState") == "loading"
        # The SDK's start waits for the parse (docs/build.md): the page's queue is not taken yet.
        assert page.evaluate("Array.isArray(window.allegro)") is True
    finally:
        sdk_ran.set()
    event = stored(site, str(wait_until(page, "window.tracked")))
    assert event["page_title"] == "The title that came late"
    assert event["canonical_url"] == site.url + "/stories/late"
    assert event["publisher"] == "Late News"
    assert event["url"] == url
    assert console.errors == []


def test_a_page_left_before_it_is_parsed_still_sends_what_it_tracked(
    own_site: Site, page: Page, console: Console
) -> None:
    site = own_site
    never = threading.Event()  # the rest of the page never comes while the visitor is there
    head = streamed_head(site, "The first title")
    url = site.add_streamed_page("left-loading", [(0, None, head), (0, never, REST)])
    try:
        page.goto(url, wait_until="commit")
        wait_until(page, "window.evaluated")
        assert page.evaluate("document.readyState") == "loading"
        page.goto("about:blank")
    finally:
        never.set()
    # Sent as the page was left, or kept in the outbox for the next page of the site, which
    # delivers it: stored once, read with what had arrived.
    later = page.context.new_page()
    queue = snippet("window.allegro = window.allegro || [];")
    html = host_page(queue + sdk_tag(site.collector_url))
    serve_page(later, site, "after-left-loading", html, strict(site))
    wait_until(later, "window.allegro && typeof window.allegro.track === 'function'", timeout=30)

    def page_views() -> list[dict[str, object]]:
        return [e for e in site.stored_events() if e["url"] == url]

    deadline = time.monotonic() + 20
    while not page_views() and time.monotonic() < deadline:
        time.sleep(0.1)
    [event] = page_views()
    assert event["event_name"] == "page_view"
    assert event["page_title"] == "The first title"
    assert event["canonical_url"] is None
    assert console.errors == []
