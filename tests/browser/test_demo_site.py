"""The demo site in real headless Chromium, on the micro collector of `allegro_sdk.testing` (the kit
a site tests its own tracking with): every page tracks its page_view with the metadata its
markup declares, the buttons and links track their events, the live view updates itself, and a
member logs in through the form and out again. Screenshots of the home page and the live view at
desktop and phone widths are saved to test-artifacts/screenshots/ and checked for content."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from allegro_sdk.core.event import STRING_FIELDS
from allegro_sdk.testing import MicroClient
from tests.demo_site.expected import PAGE_METADATA, expected_metadata

from .conftest import ROOT, Console, Site, violations

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# The spec's fields a page_view takes from the page (conversion_pv_id points to a page_view).
METADATA_FIELDS = tuple(field for field in STRING_FIELDS if field != "conversion_pv_id")
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
# Words that must not be visible on a page that works.
TROUBLE = re.compile(r"error|traceback|exception|cannot show|not found|did not answer", re.I)


def page_view_id(page: Page) -> str:
    """Wait for the page's snippet to report its stored page_view; its event id."""
    page.locator("#last-event", has_text="stored").wait_for(timeout=15000)
    return str(page.text_content("#last-event")).rsplit(" ", 1)[-1]


@pytest.fixture
def site(micro_site: Site, allegro_micro: MicroClient) -> Site:
    """These tests run the demo site on the micro collector of `allegro_sdk.testing`, as a site
    tests its own tracking; its record of events is emptied before each test."""
    return micro_site


def cookies(page: Page) -> dict[str, str]:
    return {str(c["name"]): str(c["value"]) for c in page.context.cookies()}


@pytest.mark.parametrize("path", list(PAGE_METADATA))
def test_every_page_stores_its_page_view_with_the_declared_metadata(
    site: Site, allegro_micro: MicroClient, page: Page, console: Console, path: str
) -> None:
    page.goto(site.url + path)
    event = allegro_micro.expect_event("page_view", event_id=page_view_id(page))
    expected = expected_metadata(path, site.url)
    assert {f: event[f] for f in METADATA_FIELDS} == {f: expected.get(f) for f in METADATA_FIELDS}
    jar = cookies(page)
    assert event["device_id"] == jar["allegro_device_id"]
    assert event["session_id"] == jar["allegro_session_id"]
    assert event["customer_id"] is None
    assert console.errors == []
    assert violations(page) == []


def test_the_buy_button_tracks_a_purchase_with_custom_data(
    site: Site, allegro_micro: MicroClient, page: Page, console: Console
) -> None:
    page.goto(site.url + "/shop/season-ticket")
    view_id = page_view_id(page)
    page.click("#buy")
    page.locator("#purchase-status", has_text="stored").wait_for(timeout=15000)
    purchase = allegro_micro.expect_event(
        "purchase",
        event_id=str(page.text_content("#purchase-status")).rsplit(" ", 1)[-1],
        content_id="sku-season-2026",
        content_type="product",
        conversion_pv_id=view_id,
    )
    assert purchase["data"] == {"product_id": "sku-season-2026", "price": 89, "currency": "EUR"}
    assert allegro_micro.bad() == []
    assert console.errors == []
    assert violations(page) == []


def test_a_home_page_link_tracks_the_click(
    site: Site, allegro_micro: MicroClient, page: Page, console: Console
) -> None:
    page.goto(site.url + "/")
    page_view_id(page)
    page.click("text=Local orchestra opens its season")
    page.wait_for_url(site.url + "/articles/orchestra-opens-season")
    allegro_micro.expect_event(
        "link_click",
        device_id=cookies(page)["allegro_device_id"],
        url_in_click=site.url + "/articles/orchestra-opens-season",
        content_id="article-1001",
        url=site.url + "/",
    )
    assert console.errors == []


def test_the_play_button_tracks_video_play(
    site: Site, allegro_micro: MicroClient, page: Page, console: Console
) -> None:
    page.goto(site.url + "/video/first-rehearsal")
    page_view_id(page)
    page.click("#play")
    page.locator("#play-status", has_text="stored").wait_for(timeout=15000)
    play = allegro_micro.expect_event(
        "video_play",
        event_id=str(page.text_content("#play-status")).rsplit(" ", 1)[-1],
        content_id="video-2001",
    )
    assert play["data"] == {"video_id": "video-2001", "position_seconds": 0}
    assert console.errors == []


def live_item(page: Page, event_id: str) -> Any:
    return page.locator(f'#events li[data-event-id="{event_id}"]')


def test_the_live_view_shows_new_events_without_a_reload(
    site: Site, page: Page, console: Console
) -> None:
    page.goto(site.url + "/live?watching=1")  # with the live view's own page views
    own_view = page_view_id(page)
    live_item(page, own_view).wait_for(timeout=15000)  # its own page_view, by polling
    page.evaluate("window.__sameDocument = true")
    # Another tab of the same browser buys something.
    shop = page.context.new_page()
    shop.goto(site.url + "/shop/season-ticket")
    page_view_id(shop)
    shop.click("#buy")
    shop.locator("#purchase-status", has_text="stored").wait_for(timeout=15000)
    purchase_id = str(shop.text_content("#purchase-status")).rsplit(" ", 1)[-1]
    item = live_item(page, purchase_id)
    item.wait_for(timeout=15000)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#events li.event").first.get_attribute("data-event-id") == purchase_id
    assert "mine" in str(item.get_attribute("class"))
    item.locator("summary").click()  # its details
    text = item.inner_text()
    assert "You pressed Buy: sku-season-2026 for 89 EUR." in text
    assert "your device" in text
    device, session = cookies(page)["allegro_device_id"], cookies(page)["allegro_session_id"]
    assert device in text and session in text and purchase_id in text
    assert "none (anonymous)" in text
    assert "sku-season-2026" in item.locator("pre.data").inner_text()
    assert console.errors == []
    assert violations(page) == []


def store_event(site: Site, **fields: Any) -> str:
    """Store one event as any browser could (a session, then the event); its event id."""
    device_id = str(uuid.uuid4())
    with httpx.Client(base_url=site.collector_url, timeout=10) as client:
        session = client.post("/v1/sessions", json={"device_id": device_id}).json()
        event = {
            "event_id": str(uuid.uuid4()),
            "event_name": "page_view",
            "timestamp": int(time.time() * 1000),
            "device_id": device_id,
            "session_id": session["session_id"],
            **fields,
        }
        answer = client.post(
            "/v1/events",
            json={"events": [event]},
            headers={"X-Allegro-CSRF": session["csrf_token"]},
        )
    assert answer.json()["accepted"] == [event["event_id"]], answer.text
    return str(event["event_id"])


def test_the_live_view_shows_hostile_event_data_as_text(
    own_site: Site, browser: Browser, page: Page, console: Console
) -> None:
    """Any browser can send any page title or data: the live view shows it as text and makes no
    element of it, both as the server renders the page and as polling swaps the list in.
    (On a site of its own: the other tests' live views must not list this text.)"""
    site = own_site
    title = "<img src=x onerror=alert(1)>"
    data = {"x": "<script>alert(2)</script>", "y": "</pre><b onclick=alert(3)>bold</b>"}
    event_id = store_event(site, page_title=title, data=data)

    def shown_as_text(tab: Page) -> None:
        item = live_item(tab, event_id)
        item.wait_for(timeout=15000)
        item.locator("summary").click()  # opens without any script too
        assert tab.locator("#events img, #events script, #events b").count() == 0
        assert item.locator("dt:text-is('page_title') + dd").inner_text() == title
        assert f"A visitor opened “{title}”." in item.locator(".explain").inner_text()
        assert json.loads(item.locator("pre.data").inner_text()) == data

    # The page as the server rendered it: no script of the page runs.
    context = browser.new_context(java_script_enabled=False)
    try:
        static_page = context.new_page()
        static_page.goto(site.url + "/live")
        shown_as_text(static_page)
    finally:
        context.close()
    # The list demo.js fetched from /live/events and set as innerHTML (its first poll always does).
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(site.url + "/live")
    page.locator("#live-status", has_text="updated").wait_for(timeout=15000)
    shown_as_text(page)
    page_view_id(page)
    assert dialogs == []
    assert console.errors == []
    assert violations(page) == []


def test_log_in_track_see_the_customer_then_log_out(
    site: Site, allegro_micro: MicroClient, page: Page, console: Console
) -> None:
    customer = f"ada-{uuid.uuid4().hex[:8]}"
    page.goto(site.url + "/login")
    page_view_id(page)
    assert page.text_content("#member-status") == "Not signed in"
    # A wrong password is refused by the site's backend; nothing reaches the collector.
    page.fill("#login-name", customer)
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    page.locator("#login-message", has_text="wrong password").wait_for(timeout=15000)
    # The demo password logs in: backend token, then allegro.member.login, then a tracked login.
    page.fill("#login-password", "demo")
    page.click("#login-submit")
    page.locator("#login-message", has_text="login event stored").wait_for(timeout=15000)
    assert page.text_content("#member-status") == f"Signed in as {customer}"
    assert page.is_visible("#logout") and not page.is_visible("#login-form")
    login_id = re.findall(r"event_id (\S+)", str(page.text_content("#login-message")))[0]
    member_session = cookies(page)["allegro_session_id"]
    allegro_micro.expect_event(
        "login", event_id=login_id, customer_id=customer, session_id=member_session
    )
    # The premium article shows its members' text, not the paywall.
    page.goto(site.url + "/articles/inside-the-conductors-score")
    page.locator("#members-text").wait_for(timeout=15000)
    assert "Unlocked for members" in page.inner_text("#members-text")
    assert not page.is_visible("#paywall")
    # Track on another page: the member stays, and the stored event carries the customer id.
    page.goto(site.url + "/shop/season-ticket")
    page_view_id(page)
    assert page.text_content("#member-status") == f"Signed in as {customer}"
    page.click("#buy")
    page.locator("#purchase-status", has_text="stored").wait_for(timeout=15000)
    purchase_id = str(page.text_content("#purchase-status")).rsplit(" ", 1)[-1]
    allegro_micro.expect_event(
        "purchase", event_id=purchase_id, customer_id=customer, session_id=member_session
    )
    # The live view shows the customer on the member's events.
    page.goto(site.url + "/live?mine=1")
    item = live_item(page, purchase_id)
    item.wait_for(timeout=15000)
    item.locator("summary").click()
    assert item.locator("dd.customer").inner_text() == customer
    assert f"Logged in as {customer}." in item.locator(".explain").inner_text()
    # Log out: a new session, and later events carry no customer id.
    page.goto(site.url + "/login")
    page_view_id(page)
    page.click("#logout")
    page.locator("#login-message", has_text="Logged out").wait_for(timeout=15000)
    assert page.text_content("#member-status") == "Not signed in"
    assert page.is_visible("#login-form")
    page.goto(site.url + "/articles/inside-the-conductors-score")
    page_view_id(page)
    assert page.is_visible("#paywall") and not page.is_visible("#members-text")
    page.goto(site.url + "/")
    after = allegro_micro.expect_event("page_view", event_id=page_view_id(page), customer_id=None)
    assert after["session_id"] != member_session
    assert page.text_content("#member-status") == "Not signed in"
    page.goto(site.url + "/live?mine=1")
    live_item(page, after["event_id"]).locator("dd.anonymous").wait_for(
        state="attached", timeout=15000
    )
    # The only console error is Chromium's note on the wrong password's 401 answer.
    assert console.errors == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ]
    assert violations(page) == []


def test_an_anonymous_reader_sees_the_paywall(site: Site, page: Page, console: Console) -> None:
    page.goto(site.url + "/articles/inside-the-conductors-score")
    page_view_id(page)
    assert page.is_visible("#paywall") and not page.is_visible("#members-text")
    assert console.errors == []


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_play_button_sits_below_the_artwork(
    site: Site, browser: Browser, viewport: str
) -> None:
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(site.url + "/video/first-rehearsal")
        page_view_id(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"video-{width}.png"))
        poster = page.locator(".poster").bounding_box()
        button = page.locator("#play").bounding_box()
        assert poster and button
        assert poster["width"] > 0.8 * min(width - 40, 768)  # the artwork fills the player
        assert button["y"] >= poster["y"] + poster["height"]  # no overlap: below the artwork
        assert button["x"] >= poster["x"] and button["x"] + button["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.querySelector('.poster').naturalWidth") > 0  # it loaded
    finally:
        context.close()


# --- screenshots -----------------------------------------------------------------------------


def colour_spread(browser: Browser, png: bytes) -> dict[str, float]:
    """Decode the PNG in Chromium: its size, distinct colours and the commonest colour's share."""
    context = browser.new_context()
    try:
        tab = context.new_page()
        result: dict[str, float] = tab.evaluate(
            """async (data) => {
                const image = new Image();
                image.src = 'data:image/png;base64,' + data;
                await image.decode();
                const canvas = document.createElement('canvas');
                canvas.width = image.width; canvas.height = image.height;
                const context = canvas.getContext('2d');
                context.drawImage(image, 0, 0);
                const pixels = context.getImageData(0, 0, image.width, image.height).data;
                const counts = new Map();
                for (let i = 0; i < pixels.length; i += 4) {
                    const key = (pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2];
                    counts.set(key, (counts.get(key) || 0) + 1);
                }
                const top = Math.max(...counts.values());
                return {colours: counts.size, top_share: top / (pixels.length / 4),
                        width: image.width, height: image.height};
            }""",
            base64.b64encode(png).decode(),
        )
        return result
    finally:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("path", ["/", "/live?watching=1"])
def test_screenshots_of_the_home_page_and_the_live_view_show_content(
    site: Site, browser: Browser, console: Console, path: str, viewport: str
) -> None:
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.on("console", lambda message: console.messages.append(message))
        page.on("pageerror", lambda error: console.page_errors.append(str(error)))
        page.goto(site.url + path)
        view_id = page_view_id(page)
        if path != "/":
            live_item(page, view_id).wait_for(timeout=15000)
        name = "home" if path == "/" else "live-with-own-views"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}-{width}.png"
        png = page.screenshot(path=str(target))
        assert target.stat().st_size > 10_000
        text = page.inner_text("body")
        assert TROUBLE.search(text) is None, TROUBLE.search(text)
        assert len(text) > 400
        # Tidy at this width: nothing wider than the viewport, the masthead and heading shown.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for selector in (".masthead", "h1", "main"):
            box = page.locator(selector).first.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 20, selector
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, selector
        if path == "/":
            cards = page.locator(".card")
            assert cards.count() == 4
            assert all((cards.nth(i).bounding_box() or {}).get("width", 0) > 200 for i in range(4))
        else:
            item = live_item(page, view_id)
            assert item.is_visible() and "your device" in item.inner_text()
        spread = colour_spread(browser, png)
        assert (spread["width"], spread["height"]) == (width, height)
        assert spread["colours"] > 50 and spread["top_share"] < 0.9, spread
        assert console.errors == []
    finally:
        context.close()
