"""The live view in Chromium as a person uses it: dense one-line rows whose details open on a
click (and stay open through the polling), filters answered by the store, its own page views
hidden until asked for, pause and resume, and a tidy page at desktop and phone widths
(screenshots in test-artifacts/screenshots/)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Request

from .conftest import Console, Site, violations
from .test_demo_site import SCREENSHOTS, VIEWPORTS, colour_spread, live_item, page_view_id

# The few visitors of a known set of events: (event names, member or None, page).
VISITORS: list[tuple[list[str], str | None, str]] = [
    (["page_view", "link_click", "page_view"], None, "/articles/orchestra-opens-season"),
    (["page_view", "purchase"], "ada", "/shop/season-ticket"),
    (["page_view", "video_play", "video_play"], None, "/video/first-rehearsal"),
    (["page_view", "page_view", "login"], "bob", "/articles/inside-the-conductors-score"),
    (["page_view", "purchase"], None, "/shop/season-ticket"),
]


def visit(site: Site, names: Sequence[str], member: str | None, path: str) -> dict[str, Any]:
    """Store one visitor's events as its browser would: a session, a verified member login if
    `member`, then the events in one batch. The session and the events stored."""
    device_id = str(uuid.uuid4())
    with httpx.Client(base_url=site.collector_url, timeout=10) as client:
        session = client.post("/v1/sessions", json={"device_id": device_id}).json()
        csrf = {"X-Allegro-CSRF": session["csrf_token"]}
        if member:
            login = client.post(
                "/v1/members/login",
                json={
                    "device_id": device_id,
                    "session_id": session["session_id"],
                    "customer_id": member,
                    "token": site.member_token(member),
                },
                headers=csrf,
            )
            assert login.status_code == 200, login.text
            session = login.json()  # a login moves the member to a new session
            csrf = {"X-Allegro-CSRF": session["csrf_token"]}
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "event_name": name,
                "timestamp": int(time.time() * 1000),
                "device_id": device_id,
                "session_id": session["session_id"],
                "customer_id": member,
                "url": site.url + path,
                "page_title": f"A page at {path}",
            }
            for name in names
        ]
        answer = client.post("/v1/events", json={"events": events}, headers=csrf)
        assert len(answer.json()["accepted"]) == len(events), answer.text
    return {"device_id": device_id, "session_id": session["session_id"], "events": events}


def store_visitors(site: Site) -> list[dict[str, Any]]:
    return [visit(site, names, member, path) for names, member, path in VISITORS]


def listed(page: Page) -> list[str]:
    return [
        str(item.get_attribute("data-event-id")) for item in page.locator("#events li.event").all()
    ]


def polled(page: Page) -> None:
    """Wait until the page has fetched its list again (the status names the time it did)."""
    before = page.text_content("#live-status")
    page.wait_for_function(
        "(before) => { const s = document.getElementById('live-status').textContent;"
        " return s !== before && s.includes('updated'); }",
        arg=before,
        timeout=15000,
    )


def test_rows_open_on_a_click_and_stay_open_through_polling(
    own_site: Site, page: Page, console: Console
) -> None:
    visitors = store_visitors(own_site)
    purchase = visitors[1]["events"][1]
    page.goto(own_site.url + "/live")
    item = live_item(page, purchase["event_id"])
    item.wait_for(timeout=15000)
    body = item.locator(".event-body")
    assert not body.is_visible()  # one line until clicked
    assert "A visitor pressed Buy: a product. Logged in as ada." in item.inner_text()
    item.locator("summary").click()
    assert body.is_visible()
    text = body.inner_text()
    assert purchase["event_id"] in text and visitors[1]["device_id"] in text
    assert visitors[1]["session_id"] in text and item.locator("dd.customer").inner_text() == "ada"
    # A new event changes the list; the open row stays open.
    newest = visit(own_site, ["page_view"], None, "/")["events"][0]
    live_item(page, newest["event_id"]).wait_for(timeout=15000)
    assert body.is_visible()
    assert console.errors == []
    assert violations(page) == []


def test_its_own_page_views_are_hidden_until_asked_for(
    own_site: Site, page: Page, console: Console
) -> None:
    store_visitors(own_site)
    page.goto(own_site.url + "/live")
    own = page_view_id(page)
    polled(page)
    polled(page)  # a poll after the page view was stored
    assert own not in listed(page)
    page.check("input[name=watching]")
    page.click(".live-filter button[type=submit]")
    live_item(page, page_view_id(page)).wait_for(timeout=15000)
    assert own in listed(page)  # the earlier visit's page view too
    assert console.errors == []


def test_filters_by_event_name_device_session_and_member(
    own_site: Site, page: Page, console: Console
) -> None:
    visitors = store_visitors(own_site)
    every = {e["event_id"]: e for v in visitors for e in v["events"]}

    def apply(**fields: str) -> list[str]:
        page.goto(own_site.url + "/live")
        for name, value in fields.items():
            page.fill(f".live-filter input[name={name}]", value)
        page.click(".live-filter button[type=submit]")
        page.wait_for_url("**/live?*")
        polled(page)  # and the polled list (the feed keeps the filter)
        return listed(page)

    purchases = apply(event_name="purchase")
    assert sorted(purchases) == sorted(i for i, e in every.items() if e["event_name"] == "purchase")
    assert page.input_value(".live-filter input[name=event_name]") == "purchase"
    third = visitors[2]
    assert apply(device_id=third["device_id"]) == [e["event_id"] for e in third["events"]][::-1]
    fourth = visitors[3]
    assert apply(session_id=fourth["session_id"]) == [e["event_id"] for e in fourth["events"]][::-1]
    assert apply(member="ada") == [e["event_id"] for e in visitors[1]["events"]][::-1]
    assert apply(member="bob", event_name="login") == [fourth["events"][2]["event_id"]]
    assert apply(member="nobody") == []
    assert "No events stored yet that this view shows" in page.inner_text("#events")
    page.click("text=clear")
    page.wait_for_url("**/live")
    assert len(listed(page)) == len(every)
    assert console.errors == []
    assert violations(page) == []


def test_pause_stops_the_updates_and_resume_brings_them(
    own_site: Site, page: Page, console: Console
) -> None:
    store_visitors(own_site)
    feeds: list[str] = []

    def seen(request: Request) -> None:
        if "/live/events" in request.url:
            feeds.append(request.url)

    page.on("request", seen)
    page.goto(own_site.url + "/live")
    polled(page)
    page.click("#pause")
    assert page.text_content("#pause") == "Resume"
    assert "paused" in str(page.text_content("#live-status"))
    asked = len(feeds)
    newest = visit(own_site, ["purchase"], None, "/shop/season-ticket")["events"][0]
    page.wait_for_timeout(4500)  # two poll periods and more: paused, nothing is fetched
    assert len(feeds) == asked
    assert newest["event_id"] not in listed(page)
    page.click("#pause")
    assert page.text_content("#pause") == "Pause"
    live_item(page, newest["event_id"]).wait_for(timeout=15000)
    assert console.errors == []


def test_the_live_view_is_dense_and_tidy_at_both_widths(
    own_site: Site, browser: Browser, console: Console
) -> None:
    store_visitors(own_site)
    for _ in range(2):
        store_visitors(own_site)  # 36 events: more than a screen
    for viewport, (width, height) in VIEWPORTS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.on("console", lambda message: console.messages.append(message))
            page.goto(own_site.url + "/live")
            page_view_id(page)
            polled(page)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            target = SCREENSHOTS / f"live-{width}.png"
            png = page.screenshot(path=str(target))
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            on_screen = page.evaluate(
                """() => Array.from(document.querySelectorAll('#events li.event')).filter(
                    (item) => { const box = item.getBoundingClientRect();
                                return box.top >= 0 && box.bottom <= innerHeight; }).length"""
            )
            assert on_screen >= (10 if viewport == "desktop" else 5), (viewport, on_screen)
            # The legend is there, closed; every row's sentence is on the first screen's rows.
            assert page.locator("details.legend").get_attribute("open") is None
            first = page.locator("#events li.event").first
            box = first.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
            assert first.locator(".explain").is_visible()
            spread = colour_spread(browser, png)
            assert (spread["width"], spread["height"]) == (width, height)
            assert spread["colours"] > 50 and spread["top_share"] < 0.9, spread
        finally:
            context.close()
    assert console.errors == []
