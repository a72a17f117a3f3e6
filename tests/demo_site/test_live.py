"""The live view's rendering of stored events (the HTTP side is in test_server.py)."""

from __future__ import annotations

from typing import Any

from demo_site.live import explain, render_event, render_events

EVENT: dict[str, Any] = {
    "event_id": "e1",
    "event_name": "page_view",
    "device_id": "d1",
    "session_id": "s1",
    "customer_id": None,
    "url": "http://127.0.0.1:8000/video/first-rehearsal",
    "page_title": "First rehearsal",
    "content_type": "video",
    "content_id": "video-2001",
    "referer": None,
    "data": None,
    "received_at": 1_790_000_000_123,
}


def test_a_page_view_of_the_visitor() -> None:
    html = render_event(EVENT, visitor_device="d1")
    assert html.startswith('<li class="event mine" data-event-id="e1">')
    assert '<time datetime="2026-09-21T14:13:20.123+00:00">14:13:20 UTC</time>' in html
    assert "You opened “First rehearsal” (video)." in html
    assert "<dt>content_id</dt><dd>video-2001</dd>" in html
    assert "<dt>referer</dt>" not in html  # empty fields are left out
    assert "none (anonymous)" in html and "no custom data" in html


def test_another_visitors_member_event() -> None:
    event = {**EVENT, "event_name": "login", "customer_id": "ada", "device_id": "d2"}
    html = render_event(event, visitor_device="d1")
    assert 'class="event"' in html and "your device" not in html
    assert '<dd class="customer"><code>ada</code></dd>' in html
    assert explain(event, mine=False) == (
        "A visitor logged in; the collector verified the member token. "
        "Logged in as <strong>ada</strong>."
    )


def test_explanations_by_event_name() -> None:
    purchase = {**EVENT, "event_name": "purchase", "data": {"product_id": "p", "price": 9.5}}
    assert explain(purchase, mine=True) == "You pressed Buy: p for 9.5."
    click = {**EVENT, "event_name": "link_click", "url_in_click": "http://x/a"}
    assert explain(click, mine=True) == "You clicked a link to http://x/a on “First rehearsal”."
    assert explain({**EVENT, "event_name": "video_play"}, mine=False) == (
        "A visitor pressed play on “First rehearsal”."
    )
    custom = {**EVENT, "event_name": "share<", "page_title": None}
    assert explain(custom, mine=True) == (
        "You triggered <code>share&lt;</code> on “http://127.0.0.1:8000/video/first-rehearsal”."
    )


def test_no_events_yet() -> None:
    assert "No events stored yet" in render_events([], None)
