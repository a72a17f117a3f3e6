"""The checkout page sends what the analytics team relies on."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from allegro_sdk.testing import MicroClient


def test_paying_sends_a_purchase(page: Page, site_url: str, allegro_micro: MicroClient) -> None:
    page.goto(site_url + "/checkout")
    allegro_micro.expect_event("page_view", content_type="checkout")

    page.click("#pay")
    expect(page.locator("#status")).to_have_text("Thank you!")
    purchase = allegro_micro.expect_event(
        "purchase", content_id="mug-blue", data={"price": 12.5, "currency": "EUR"}
    )
    assert purchase["url"] == site_url + "/checkout"
    assert allegro_micro.bad() == []  # nothing was refused
