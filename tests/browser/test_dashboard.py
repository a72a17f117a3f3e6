"""The dashboard in Chromium: after a known set of events its figures are what the store holds
(both windows, the top lists, the share with a member), the delivery health shows the refusals
and duplicates the collector saw, it updates by itself, and it is tidy at desktop and phone
widths (screenshots in test-artifacts/screenshots/)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import httpx
from playwright.sync_api import Browser, Page

from .conftest import Console, Site, violations
from .test_demo_site import SCREENSHOTS, TROUBLE, VIEWPORTS, colour_spread, page_view_id
from .test_live_view import store_visitors, visit


def refuse_and_repeat(site: Site) -> None:
    """One event refused (no event name) and one sent twice, as a retrying browser would."""
    device_id = str(uuid.uuid4())
    with httpx.Client(base_url=site.collector_url, timeout=10) as client:
        session = client.post("/v1/sessions", json={"device_id": device_id}).json()
        event = {
            "event_id": str(uuid.uuid4()),
            "event_name": "purchase",
            "timestamp": int(time.time() * 1000),
            "device_id": device_id,
            "session_id": session["session_id"],
        }
        bad = {**event, "event_id": str(uuid.uuid4()), "event_name": ""}
        csrf = {"X-Allegro-CSRF": session["csrf_token"]}
        first = client.post("/v1/events", json={"events": [event, bad]}, headers=csrf).json()
        assert first["accepted"] == [event["event_id"]] and len(first["rejected"]) == 1
        again = client.post("/v1/events", json={"events": [event]}, headers=csrf).json()
        assert again["accepted"] == [event["event_id"]]


def expected_figures(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What the dashboard should show for these stored events, counted here in Python."""
    with_member = [e for e in events if e["customer_id"]]
    views = Counter(e["url"] for e in events if e["event_name"] == "page_view" and e["url"])
    return {
        "events": str(len(events)),
        "sessions": str(len({e["session_id"] for e in events})),
        "devices": str(len({e["device_id"] for e in events})),
        "with_member": str(len(with_member)),
        "members": str(len({e["customer_id"] for e in with_member})),
        "member_share": f"{round(100 * len(with_member) / len(events))} %",
        "top_events": sorted(Counter(e["event_name"] for e in events).items()),
        "top_pages": sorted(views.items()),
    }


def shown_figures(page: Page, window: str) -> dict[str, Any]:
    section = page.locator(f"#window-{window}")

    def ranked(name: str) -> list[tuple[str, int]]:
        rows = section.locator(f"[data-list={name}] li").all()
        return sorted(
            (row.locator(".name").inner_text(), int(row.locator(".count").inner_text()))
            for row in rows
        )

    shown: dict[str, Any] = {
        key: section.locator(f"[data-figure={key}]").inner_text()
        for key in ("events", "sessions", "devices", "with_member", "members", "member_share")
    }
    shown["top_events"] = ranked("top_events")
    shown["top_pages"] = ranked("top_pages")
    return shown


def test_the_figures_are_what_the_store_holds(own_site: Site, page: Page, console: Console) -> None:
    store_visitors(own_site)
    refuse_and_repeat(own_site)
    page.goto(own_site.url + "/dashboard")
    page_view_id(page)  # the dashboard's own page view is an event too
    stored = own_site.stored_events()
    expected = expected_figures(stored)
    # The page updates by itself until it counts every stored event.
    page.wait_for_function(
        "(total) => document.querySelector('#window-hour [data-figure=events]')"
        ".textContent === total",
        arg=expected["events"],
        timeout=15000,
    )
    assert len(expected["top_events"]) <= 10 and len(expected["top_pages"]) <= 10
    for window in ("hour", "day"):
        assert shown_figures(page, window) == expected, window
        assert page.locator(f"#window-{window} svg rect.bar").count() >= 1
    # Delivery health: the counters of this collector process.
    health = page.locator("#delivery")
    assert "since it started" in health.inner_text()
    assert health.locator("[data-figure=refused]").inner_text() == "1"
    assert health.locator("[data-reason=invalid]").inner_text() == "1 a field missing or wrong"
    assert health.locator("[data-figure=duplicates]").inner_text() == "1"
    assert health.locator("[data-figure=busy_503]").inner_text() == "0"
    # A new member event shows up without a reload.
    page.evaluate("window.__sameDocument = true")
    visit(own_site, ["purchase"], "cleo", "/shop/season-ticket")
    after = expected_figures(own_site.stored_events())
    page.wait_for_function(
        "(total) => document.querySelector('#window-hour [data-figure=members]')"
        ".textContent === total",
        arg=after["members"],
        timeout=15000,
    )
    assert page.evaluate("window.__sameDocument") is True
    assert shown_figures(page, "hour") == after
    assert console.errors == []
    assert violations(page) == []


def test_the_dashboard_is_tidy_at_both_widths(
    own_site: Site, browser: Browser, console: Console
) -> None:
    store_visitors(own_site)
    for width, height in VIEWPORTS.values():
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.on("console", lambda message: console.messages.append(message))
            page.goto(own_site.url + "/dashboard")
            page_view_id(page)
            page.locator("#dashboard-status", has_text="Updated").wait_for(timeout=15000)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            png = page.screenshot(path=str(SCREENSHOTS / f"dashboard-{width}.png"))
            page.screenshot(path=str(SCREENSHOTS / f"dashboard-{width}-full.png"), full_page=True)
            text = page.inner_text("body")
            assert TROUBLE.search(text) is None, TROUBLE.search(text)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            # The first screen shows the last hour's figures and its chart begins.
            for selector in ("#window-hour [data-figure=events]", "#window-hour .chart svg"):
                box = page.locator(selector).bounding_box()
                assert box and box["width"] > 0 and box["y"] < height, selector
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, selector
            spread = colour_spread(browser, png)
            assert (spread["width"], spread["height"]) == (width, height)
            assert spread["colours"] > 50 and spread["top_share"] < 0.9, spread
        finally:
            context.close()
    assert console.errors == []
