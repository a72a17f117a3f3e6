"""Page metadata on 15 real pages, read by the built SDK in Chromium and stored by the collector.

Each page is served at its original address (Playwright answers for the site), with the SDK's
snippet added to its <head>. The stored event must carry exactly what the metadata rules give for
that page's markup under CPython (tests/core/test_metadata.py measures those rules against the
pages' expected values); so this test checks the browser's reading of the DOM end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from asgi_servers import free_socket, serve_in_thread
from core.page_snapshots import REAL_PAGES, real_page_snapshot, real_pages
from playwright.sync_api import Browser, Route

from allegro_collector.app import create_app as create_collector
from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey
from allegro_sdk.core.metadata import page_metadata

from .conftest import ADMIN_KEY, BUNDLE
from .pages import wait_until

CDN = "https://cdn.allegro.test/allegro.js"
COLLECTOR = "https://collector.allegro.test"
FIELDS = (
    "url",
    "canonical_url",
    "page_title",
    "content_type",
    "content_id",
    "publisher",
    "context",
    "referer",
)
SNIPPET = (
    "<script>window.allegro = window.allegro || [];"
    "allegro.push(function (a) { a.track('page_view').then("
    "function (r) { window.__tracked = r.event_id; }); });</script>"
    f'<script async src="{CDN}" data-collector="{COLLECTOR}"></script>'
)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, httpx.Client]]:
    assert REAL_PAGES.is_dir(), f"{REAL_PAGES} is missing from the repository"
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    origins = tuple(sorted({origin(str(p["request_url"])) for p in real_pages().values()}))
    settings = Settings(
        db_path=Path(tmp_path_factory.mktemp("real-pages")) / "events.sqlite3",
        signing_key=SigningKey.from_secret("real-pages-secret"),
        allowed_origins=origins,
        admin_key=ADMIN_KEY,
    )
    server = serve_in_thread(create_collector(settings), sock)
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    yield url, admin
    admin.close()
    server.stop()


@pytest.mark.parametrize("name", sorted(real_pages()))
def test_the_stored_page_view_carries_the_pages_metadata(
    browser: Browser, collector: tuple[str, httpx.Client], name: str
) -> None:
    collector_url, admin = collector
    entry = real_pages()[name]
    request_url = str(entry["request_url"])
    html = (REAL_PAGES / str(entry["file"])).read_text("utf-8")
    head_end = html.lower().index("</head>")
    page_html = html[:head_end] + SNIPPET + html[head_end:]

    context = browser.new_context()
    try:
        # Nothing leaves the machine: the page's own images, styles and links are refused.
        context.route("**/*", lambda route: route.abort())
        context.route(
            request_url,
            lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=page_html
            ),
        )
        context.route(
            CDN,
            lambda route: route.fulfill(
                status=200, content_type="text/javascript", body=BUNDLE.read_bytes()
            ),
        )

        def to_collector(route: Route) -> None:
            real = collector_url + route.request.url[len(COLLECTOR) :]
            route.fulfill(response=route.fetch(url=real))

        context.route(COLLECTOR + "/**", to_collector)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(request_url, wait_until="domcontentloaded")
        event_id = str(wait_until(page, "window.__tracked"))
    finally:
        context.close()

    stored = [e for e in admin.get("/v1/events").json()["events"] if e["event_id"] == event_id]
    assert len(stored) == 1
    expected = page_metadata(real_page_snapshot(name))
    assert {field: stored[0][field] for field in FIELDS} == {
        field: expected.get(field) for field in FIELDS
    }
    assert errors == []
