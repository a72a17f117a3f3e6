"""The live view's rendering of stored events: EventView and the `_events.html` template (the
HTTP side is in test_server.py)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from demo_site.live import EventView, event_views
from demo_site.server import TEMPLATES

from .markup import LIVE_ELEMENTS, parse

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


def render_events(events: list[dict[str, Any]], visitor_device: str | None) -> str:
    template = TEMPLATES.get_template("_events.html")
    return template.render(events=event_views(events, visitor_device), problem=None)


def explain(event: dict[str, Any], visitor_device: str | None) -> str:
    """The sentence on what the visitor did, as HTML."""
    match = re.search(
        r'<span class="explain">(.*?)\s*</span>\s*<span class="who">',
        render_events([event], visitor_device),
        re.S,
    )
    assert match
    return match.group(1)


def test_a_page_view_of_the_visitor() -> None:
    html = render_events([EVENT], visitor_device="d1")
    assert html.startswith('<li class="event mine" data-event-id="e1">')
    assert '<time datetime="2026-09-21T14:13:20.123+00:00">14:13:20 UTC</time>' in html
    assert "You opened “First rehearsal” (video)." in html
    assert '<code>d1</code> <span class="badge">your device</span>' in html
    assert "<dt>content_id</dt><dd>video-2001</dd>" in html
    assert "<dt>referer</dt>" not in html  # empty fields are left out
    assert "none (anonymous)" in html and "no custom data" in html
    assert html.count("<li") == 1 and html.rstrip().endswith("</li>")


def test_the_canonical_url_and_campaign_are_shown() -> None:
    event = {
        **EVENT,
        "url": "http://127.0.0.1:8000/?utm_source=newsletter",
        "canonical_url": "http://127.0.0.1:8000/",
        "utm_source": "newsletter",
        "gclid": None,
    }
    html = render_events([event], visitor_device=None)
    assert "<dt>url</dt><dd>http://127.0.0.1:8000/?utm_source=newsletter</dd>" in html
    assert "<dt>canonical_url</dt><dd>http://127.0.0.1:8000/</dd>" in html
    assert "<dt>utm_source</dt><dd>newsletter</dd>" in html
    assert "<dt>gclid</dt>" not in html


def test_another_visitors_member_event() -> None:
    event = {**EVENT, "event_name": "login", "customer_id": "ada", "device_id": "d2"}
    html = render_events([event], visitor_device="d1")
    assert 'class="event"' in html and "your device" not in html
    assert '<dd class="customer"><code>ada</code></dd>' in html
    assert explain(event, "d1") == (
        "A visitor logged in; the collector verified the member token and stamps the customer "
        "on the session's events. Logged in as <strong>ada</strong>."
    )
    anonymous = {**event, "customer_id": None}
    assert explain(anonymous, "d1") == (
        "A visitor sent a <code>login</code> event, but no verified member is bound to its session."
    )


def test_explanations_by_event_name() -> None:
    purchase = {**EVENT, "event_name": "purchase", "data": {"product_id": "p", "price": 9.5}}
    assert explain(purchase, "d1") == "You pressed Buy: p for 9.5."
    assert explain({**purchase, "data": {}}, "d1") == "You pressed Buy: a product."
    click = {**EVENT, "event_name": "link_click", "url_in_click": "http://x/a"}
    assert explain(click, "d1") == "You clicked a link to http://x/a on “First rehearsal”."
    assert explain({**EVENT, "event_name": "video_play"}, None) == (
        "A visitor pressed play on “First rehearsal”."
    )
    custom = {**EVENT, "event_name": "share<", "page_title": None}
    assert explain(custom, "d1") == (
        "You triggered <code>share&lt;</code> on “http://127.0.0.1:8000/video/first-rehearsal”."
    )
    assert explain({**EVENT, "page_title": None, "url": None}, "d1") == (
        "You opened “a page” (video)."
    )


def test_the_custom_data_is_shown_as_indented_json() -> None:
    view = EventView.of({**EVENT, "data": {"price": 89.0, "name": "Stück"}}, None)
    assert view.data_json == '{\n  "price": 89.0,\n  "name": "Stück"\n}'
    html = render_events([{**EVENT, "data": {"price": 89.0, "name": "Stück"}}], None)
    pre = re.search(r'<pre class="data">(.*?)</pre>', html, re.S)
    assert pre and unescape(pre.group(1)) == view.data_json


def test_untrusted_values_are_escaped_everywhere() -> None:
    attack = '"><img src=x onerror=alert(1)>'
    event = {
        **EVENT,
        "event_id": attack,
        "event_name": attack,
        "device_id": attack,
        "session_id": attack,
        "customer_id": attack,
        "page_title": attack,
        "context": attack,
        "received_at": "not a time",
        "data": {"x": "</pre><script>alert(1)</script>"},
    }
    html = render_events([event], visitor_device=attack)
    elements, text = parse(html)
    assert {tag for tag, _ in elements} <= LIVE_ELEMENTS - {"time"}  # no time: not a number
    assert [attributes for _, attributes in elements if "onerror" in attributes] == []
    assert elements[0] == ("li", {"class": "event mine", "data-event-id": attack})
    # As text: the name, the explanation (name, title, customer), the row's member, the ids
    # (event, device, session, customer) and the metadata (page_title, context).
    assert text.count(attack) == 11
    assert '"x": "</pre><script>alert(1)</script>"' in text


def test_no_events_yet() -> None:
    assert "No events stored yet" in render_events([], None)
