"""Events that depend on the page: conversion_pv_id and tracked links, in real Chromium."""

from __future__ import annotations

from playwright.sync_api import Page

from .conftest import Console, Site
from .pages import STRICT_CSP, host_page, sdk_tag, serve_page, snippet, wait_until


def strict(site: Site) -> str:
    return STRICT_CSP.format(collector=site.collector_url)


def stored(site: Site, event_id: str) -> dict[str, object]:
    matches = [e for e in site.stored_events() if e["event_id"] == event_id]
    assert len(matches) == 1
    return matches[0]


def test_later_events_point_to_the_pages_page_view(site: Site, page: Page) -> None:
    head = snippet("window.allegro = window.allegro || [];") + sdk_tag(site.collector_url)
    serve_page(page, site, "conversion", host_page(head, "Conversion"), strict(site))
    wait_until(page, "typeof window.allegro.track === 'function'")
    ids = page.evaluate(
        """async () => {
            const view = await allegro.track('page_view');
            const buy = await allegro.track('purchase', {data: {price: 5}});
            return [view.event_id, buy.event_id];
        }"""
    )
    assert stored(site, ids[1])["conversion_pv_id"] == ids[0]
    assert stored(site, ids[0])["conversion_pv_id"] is None


def test_a_tracked_link_is_sent_and_the_navigation_goes_on(
    site: Site, page: Page, console: Console
) -> None:
    target = site.add_page("after-click", host_page("", "After the click"), strict(site))
    head = snippet(
        "window.allegro = window.allegro || [];"
        "allegro.push(function (a) { a.track('page_view'); });"
    ) + sdk_tag(site.collector_url)
    body_link = (
        f'<a id="go" href="{target}" data-allegro-track="link_click"'
        ' data-allegro-content-id="story-42" data-allegro-context="related">Read on</a>'
    )
    html = host_page(head, "Links").replace("<p>host</p>", body_link)
    serve_page(page, site, "links", html, strict(site))
    wait_until(page, "typeof window.allegro.track === 'function'")
    session = wait_until(
        page, "document.cookie.split('; ').find((c) => c.startsWith('allegro_session_id='))"
    )
    page.click("#go")
    page.wait_for_url(target)
    assert page.title() == "After the click"
    session_id = str(session).split("=", 1)[1]
    deadline_events: list[dict[str, object]] = []
    for _ in range(100):
        deadline_events = [
            e for e in site.stored_events(session_id=session_id) if e["event_name"] == "link_click"
        ]
        if deadline_events:
            break
        page.wait_for_timeout(50)
    assert len(deadline_events) == 1
    click = deadline_events[0]
    assert click["url_in_click"] == target
    assert click["content_id"] == "story-42" and click["context"] == "related"
    assert click["page_title"] == "Links"
    assert console.page_errors == []
