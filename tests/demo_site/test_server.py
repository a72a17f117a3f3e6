"""The demo site over real HTTP: pages and their metadata, the SDK, the login backend, the live
view's feed (against a real collector), and the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from allegro_collector.member_tokens import verify_member_token
from allegro_sdk.core.metadata import page_metadata
from demo_site.server import PAGES, create_app
from tests.core.page_snapshots import snapshot_from_html

from .conftest import ADMIN_KEY, MEMBER_SECRET, Served, StartSite, unused_port
from .expected import PAGE_METADATA, expected_metadata
from .markup import LIVE_ELEMENTS, parse

ROOT = Path(__file__).resolve().parents[2]
ALL_PAGES = [*PAGES, "/live", "/dashboard"]


def nonce_of(response: httpx.Response) -> str:
    match = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert match, response.headers["content-security-policy"]
    return match.group(1)


@pytest.mark.parametrize("path", ALL_PAGES)
def test_every_page_has_the_snippet_the_sdk_tag_and_a_strict_csp(site: Served, path: str) -> None:
    response = site.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "unsafe-eval" not in script_src and "unsafe-inline" not in script_src
    assert "style-src 'self';" in policy
    nonce = nonce_of(response)
    html = response.text
    # Every executable inline script carries the response's nonce (JSON-LD is data, not script).
    for attributes in re.findall(r"<script([^>]*)>", html):
        assert (
            f'nonce="{nonce}"' in attributes
            or "src=" in attributes
            or 'type="application/ld+json"' in attributes
        ), attributes
    assert "allegro.track('page_view')" in html
    assert '<script async src="/static/allegro.js" data-collector="' in html
    assert "{{" not in html
    # A fresh nonce for every response.
    assert nonce_of(site.client.get(path)) != nonce


@pytest.mark.parametrize("section", ["", "/workshops", "/family-days"])
def test_the_programme_is_one_page_for_every_section_with_automatic_page_views(
    site: Served, section: str
) -> None:
    response = site.client.get("/programme" + section)
    assert response.status_code == 200
    html = response.text
    assert 'data-page-views="auto"' in html
    assert "allegro.track(" not in html  # no snippet: the SDK tracks the page views
    assert html.count('data-section="') == 3
    assert site.client.get("/programme/nothing-here").status_code == 404


@pytest.mark.parametrize("path", list(PAGE_METADATA))
def test_the_sdk_rules_read_the_declared_metadata_from_every_page(site: Served, path: str) -> None:
    html = site.client.get(path).text
    for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S):
        json.loads(block)  # every JSON-LD block is well formed
    snapshot = snapshot_from_html(html, site.url + path)
    assert page_metadata(snapshot) == expected_metadata(path, site.url)


def test_an_unknown_page_is_a_404_page_with_the_site_around_it(site: Served) -> None:
    response = site.client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "content-security-policy" in response.headers


def test_the_sdk_and_the_assets_are_served(site: Served) -> None:
    sdk = site.client.get("/static/allegro.js", headers={"Accept-Encoding": "br"})
    assert sdk.status_code == 200
    assert sdk.headers["content-encoding"] == "br"
    assert sdk.headers["content-type"].startswith("text/javascript")
    for asset, kind in (("demo.css", "text/css"), ("demo.js", "text/javascript")):
        response = site.client.get(f"/assets/{asset}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)


# --- the login backend -----------------------------------------------------------------------


def login(site: Served, body: object, **kwargs: Any) -> httpx.Response:
    return site.client.post("/api/login", json=body, **kwargs)


def test_the_demo_password_gets_a_member_token_for_the_site(site: Served) -> None:
    response = login(site, {"name": " Ada.Lovelace ", "password": "demo"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["customer_id"] == "ada.lovelace"
    assert body["expires_in"] == 300
    # The collector's own check accepts it: audience = the site's origin (as requested).
    verify_member_token(body["token"], MEMBER_SECRET.encode(), site.url, "ada.lovelace")


def test_the_token_audience_can_be_set(start_site: StartSite) -> None:
    site = start_site(member_audience="https://news.example")
    token = login(site, {"name": "ada", "password": "demo"}).json()["token"]
    verify_member_token(token, MEMBER_SECRET.encode(), "https://news.example", "ada")


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"name": "ada", "password": "wrong"}, 401, None, "wrong password"),
        ({"name": "ada"}, 401, None, "wrong password"),
        ({"name": "", "password": "demo"}, 400, "name", "a member name is 1 to 64"),
        ({"name": "a b", "password": "demo"}, 400, "name", "a member name is 1 to 64"),
        ({"name": "x" * 65, "password": "demo"}, 400, "name", "a member name is 1 to 64"),
        ({"name": 7, "password": "demo"}, 400, "name", "a member name is 1 to 64"),
        (["ada", "demo"], 400, "name", "a member name is 1 to 64"),
    ],
)
def test_a_wrong_login_is_refused_with_a_reason(
    site: Served, body: object, status: int, field: str | None, message: str
) -> None:
    response = login(site, body)
    assert response.status_code == status
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["message"].startswith(message)
    assert "token" not in response.text


def test_the_login_must_be_json(site: Served) -> None:
    form = site.client.post("/api/login", data={"name": "ada", "password": "demo"})
    assert form.status_code == 415
    broken = site.client.post(
        "/api/login", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    too_big = site.client.post(
        "/api/login",
        content=json.dumps({"name": "ada", "password": "demo", "pad": "x" * 5000}),
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert site.client.get("/api/login").status_code == 405


def test_without_a_member_secret_login_is_off(start_site: StartSite) -> None:
    site = start_site(member_secret=None)
    response = login(site, {"name": "ada", "password": "demo"})
    assert response.status_code == 503
    assert "not configured" in response.json()["error"]["message"]


def test_a_short_member_secret_is_refused_at_start(collector: Served) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        create_app(collector.url, member_secret="too short")


# --- the live view ---------------------------------------------------------------------------


def store(collector: Served, device_id: str, **fields: Any) -> dict[str, Any]:
    """Store one event in the collector as the SDK would: a session, then the event."""
    session = collector.client.post("/v1/sessions", json={"device_id": device_id}).json()
    event = {
        "event_id": str(uuid.uuid4()),
        "event_name": "page_view",
        "timestamp": 1_790_000_000_000,
        "device_id": device_id,
        "session_id": session["session_id"],
        **fields,
    }
    answer = collector.client.post(
        "/v1/events", json={"events": [event]}, headers={"X-Allegro-CSRF": session["csrf_token"]}
    )
    assert answer.json()["accepted"] == [event["event_id"]], answer.text
    return event


def device_cookie(device_id: str) -> dict[str, str]:
    return {"Cookie": f"allegro_device_id={device_id}"}


def listed_ids(html: str) -> list[str]:
    return re.findall(r'data-event-id="([^"]+)"', html)


def test_the_feed_lists_stored_events_newest_first_and_marks_the_visitors_device(
    site: Served, collector: Served
) -> None:
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    first = store(collector, mine, page_title="Local orchestra", content_type="article")
    second = store(
        collector,
        other,
        event_name="purchase",
        content_id="sku-season-2026",
        data={"product_id": "sku-season-2026", "price": 89.0, "currency": "EUR"},
    )
    response = site.client.get("/live/events", headers=device_cookie(mine))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-live-status"] == "2 newest shown"
    html = response.text
    assert listed_ids(html) == [second["event_id"], first["event_id"]]
    mine_item, other_item = html.split("</li>")[1], html.split("</li>")[0]
    assert 'class="event mine"' in mine_item and "your device" in mine_item
    assert "You opened “Local orchestra” (article)." in mine_item
    assert first["session_id"] in mine_item and mine in mine_item
    assert "none (anonymous)" in mine_item
    assert 'class="event"' in other_item and "your device" not in other_item
    assert "A visitor pressed Buy: sku-season-2026 for 89.0 EUR." in other_item
    assert "&#34;currency&#34;: &#34;EUR&#34;" in other_item  # the data, as escaped JSON
    assert "<dt>content_id</dt><dd>sku-season-2026</dd>" in other_item
    # The admin key stays on the server.
    assert ADMIN_KEY not in html
    assert ADMIN_KEY not in site.client.get("/live").text


def test_only_this_device(site: Served, collector: Served) -> None:
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    kept = store(collector, mine)
    store(collector, other)
    cookies = device_cookie(mine)
    feed = site.client.get("/live/events?mine=1", headers=cookies).text
    assert listed_ids(feed) == [kept["event_id"]]
    page = site.client.get("/live?mine=1", headers=cookies).text
    assert 'data-feed="/live/events?mine=1"' in page
    assert listed_ids(page) == [kept["event_id"]]
    nobody = site.client.get("/live/events?mine=1")
    assert listed_ids(nobody.text) == []
    assert nobody.headers["x-live-status"] == "this browser has no device id yet"


def test_the_filters_ask_the_store_and_the_feed_keeps_them(site: Served, collector: Served) -> None:
    device = str(uuid.uuid4())
    view = store(collector, device)
    bought = store(collector, device, event_name="purchase")
    watching = store(collector, device, context="live view")  # the live view's own page view
    other = store(collector, str(uuid.uuid4()))
    # By default the live view's (and the dashboard's) own page views are hidden.
    assert listed_ids(site.client.get("/live/events").text) == [
        other["event_id"],
        bought["event_id"],
        view["event_id"],
    ]
    shown = site.client.get("/live/events?watching=1").text
    assert watching["event_id"] in listed_ids(shown)
    page = site.client.get("/live", params={"event_name": "purchase", "device_id": device}).text
    assert listed_ids(page) == [bought["event_id"]]
    assert f'data-feed="/live/events?event_name=purchase&amp;device_id={device}"' in page
    assert 'value="purchase"' in page  # the form shows the filter it applied
    feed = site.client.get(f"/live/events?event_name=purchase&device_id={device}")
    assert listed_ids(feed.text) == [bought["event_id"]]
    assert feed.headers["x-live-status"] == "1 newest matching the filter shown"
    session = site.client.get("/live/events", params={"session_id": view["session_id"]}).text
    assert listed_ids(session) == [view["event_id"]]
    assert listed_ids(site.client.get("/live/events?member=nobody").text) == []


def test_stored_text_is_escaped(site: Served, collector: Served) -> None:
    """Any browser can store any text: in the live view it is shown as text, never markup."""
    device = str(uuid.uuid4())
    event = store(
        collector,
        device,
        event_name="<b>shout</b>",
        page_title="<img src=x onerror=alert(1)>",
        url='http://127.0.0.1:8000/?q="><script>alert(2)</script>',
        data={"x": "<script>alert(3)</script>", "note": "</pre><b>bold</b>"},
    )
    for path in ("/live/events", "/live"):
        html = site.client.get(path, headers=device_cookie(device)).text
        assert "<img" not in html and "<b>" not in html
        if path == "/live":  # the list in the page
            listing = re.search(r'<ol id="events"[^>]*>(.*)</ol>', html, re.S)
            assert listing
            html = listing.group(1)
        events = html.strip()
        elements, text = parse(events)
        assert {tag for tag, _ in elements} <= LIVE_ELEMENTS  # nothing the data made
        assert [a for _, a in elements if "onerror" in a or "src" in a] == []
        assert [a["data-event-id"] for tag, a in elements if tag == "li"] == [event["event_id"]]
        assert "You triggered <b>shout</b> on “<img src=x onerror=alert(1)>”." in text
        assert '?q="><script>alert(2)</script>' in text
        assert '"x": "<script>alert(3)</script>"' in text and "</pre><b>bold</b>" in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in events  # escaped once, not twice
        assert "&amp;lt;" not in events


def test_the_live_page_renders_the_events_at_once(site: Served, collector: Served) -> None:
    event = store(collector, str(uuid.uuid4()))
    page = site.client.get("/live")
    assert page.status_code == 200
    assert listed_ids(page.text) == [event["event_id"]]
    assert 'data-feed="/live/events"' in page.text
    empty = site.client.get("/live/events?mine=1", headers=device_cookie("x")).text
    assert "No events stored yet" in empty


def test_without_an_admin_key_the_live_view_says_why(start_site: StartSite) -> None:
    site = start_site(admin_key=None)
    response = site.client.get("/live/events")
    assert response.status_code == 200
    assert "no admin key" in response.text
    assert response.headers["x-live-status"] == "not updating"


def test_a_wrong_admin_key_or_no_collector_is_said_plainly(start_site: StartSite) -> None:
    wrong = start_site(admin_key="not-the-key").client.get("/live/events").text
    assert "the collector answered 401 to the events request" in wrong
    gone = f"http://127.0.0.1:{unused_port()}"
    response = start_site(collector_url=gone).client.get("/live/events")
    assert response.status_code == 200
    assert f"the collector at {gone} did not answer" in response.text


# --- the dashboard -----------------------------------------------------------------------------


def test_the_dashboard_renders_the_collectors_figures_at_once(
    site: Served, collector: Served
) -> None:
    device = str(uuid.uuid4())
    store(collector, device, url="http://127.0.0.1:8000/a")
    store(collector, device, event_name="purchase")
    received = [
        e["received_at"]
        for e in collector.client.get(
            "/v1/events", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        ).json()["events"]
    ]
    bucket_ms = {"hour": 60_000, "day": 15 * 60_000}
    for path in ("/dashboard", "/dashboard/panel"):
        response = site.client.get(path)
        assert response.status_code == 200
        html = response.text
        for window in ("hour", "day"):
            section = html.split(f'id="window-{window}"')[1].split("</section>")[0]
            assert '<dd data-figure="events">2</dd>' in section
            assert '<dd data-figure="sessions">2</dd>' in section
            assert '<dd data-figure="devices">1</dd>' in section
            assert '<dd data-figure="member_share">0 %</dd>' in section
            assert "<code>purchase</code>" in section and "http://127.0.0.1:8000/a" in section
            bars = len({at // bucket_ms[window] for at in received})  # one per bucket with events
            assert section.count('<rect class="bar"') == bars
        assert "since it started" in html
        assert ADMIN_KEY not in html
    assert site.client.get("/dashboard/panel").headers["cache-control"] == "no-store"


def test_without_an_admin_key_the_dashboard_says_why(start_site: StartSite) -> None:
    for path in ("/dashboard", "/dashboard/panel"):
        html = start_site(admin_key=None).client.get(path).text
        assert "Cannot show the figures: the demo site has no admin key" in html
    gone = f"http://127.0.0.1:{unused_port()}"
    html = start_site(collector_url=gone).client.get("/dashboard").text
    assert f"the collector at {gone} did not answer" in html


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_prints_the_address_and_serves() -> None:
    port = unused_port()
    command = [sys.executable, "-m", "demo_site", "--port", str(port)]
    environment = {
        **os.environ,
        "ALLEGRO_ADMIN_KEY": ADMIN_KEY,
        "ALLEGRO_MEMBER_SECRET": MEMBER_SECRET,
    }
    with subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith(f"demo site: http://127.0.0.1:{port}/")
            origin = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while True:
                try:
                    response = httpx.get(origin + "/", timeout=2)
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "the demo site did not start"
                    time.sleep(0.05)
            assert response.status_code == 200
            answer = httpx.post(origin + "/api/login", json={"name": "ada", "password": "demo"})
            verify_member_token(answer.json()["token"], MEMBER_SECRET.encode(), origin, "ada")
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_command_line_refuses_a_short_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo_site"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "ALLEGRO_MEMBER_SECRET": "short"},
    )
    assert result.returncode == 2
    assert "at least 32 bytes" in result.stderr


@pytest.mark.parametrize("flag", ["--admin-key", "--member-secret"])
def test_the_command_line_takes_no_secret(flag: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo_site", flag, "x" * 32],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
