"""Fixtures for the SDK's real-browser tests: the built bundle, a real collector and demo site
on 127.0.0.1, and headless Chromium that records console errors and CSP violations."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_servers import RunningServer, free_socket, serve_in_thread
from playwright.sync_api import Browser, ConsoleMessage, Page
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from write_gates import HeldGate

from allegro_collector.app import create_app as create_collector
from allegro_collector.ingest import WriteGate, always_open
from allegro_collector.member_tokens import mint_member_token
from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey
from allegro_sdk.testing import MicroClient
from demo_site.server import create_app as create_demo_site

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "static" / "allegro.js"
ADMIN_KEY = "browser-tests-admin-key"
# The member identity secret the collector and the demo site's login backend share.
MEMBER_SECRET = "browser-tests-member-identity-secret"
# Records CSP violations and uncaught errors from the first moment of every page.
RECORDER = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclass
class Site:
    """The demo site and its collector, as a test talks to them."""

    url: str
    collector_url: str
    admin: httpx.Client
    # Host pages that tests write, served by the same real server as the demo site (a page
    # fulfilled by Playwright itself would count as public and could not reach 127.0.0.1).
    fixtures: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)
    # Pages sent in parts: (pause in seconds, gate or None, html); each part is sent after its
    # pause and once its gate (a threading.Event the test sets) is open.
    streams: dict[str, list[tuple[float, threading.Event | None, str]]] = field(
        default_factory=dict
    )

    def add_page(self, name: str, html: str, csp: str | None) -> str:
        self.fixtures[name] = (html, csp)
        return f"{self.url}/fixtures/{name}"

    def add_script(self, name: str, source: str) -> str:
        """A JavaScript file at the site's origin (a host page's own external script)."""
        self.scripts[name] = source
        return f"/scripts/{name}"

    def add_streamed_page(
        self, name: str, parts: list[tuple[float, threading.Event | None, str]]
    ) -> str:
        """A page the server sends in parts (a large page arriving in pieces)."""
        self.streams[name] = parts
        return f"{self.url}/streamed/{name}"

    def member_token(self, customer_id: str, secret: str = MEMBER_SECRET) -> str:
        """What the site's backend would give a browser after its own login check."""
        return mint_member_token(customer_id, secret, self.url)

    def wait_for_commit_waiting(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` batches wait behind the group being written (`allegro_commit_waiting`
        of the collector's /metrics): with a write held, later batches queue for the next group."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.admin.get("/metrics")
            response.raise_for_status()
            waiting = next(
                sample.value
                for family in text_string_to_metric_families(response.text)
                for sample in family.samples
                if sample.name == "allegro_commit_waiting"
            )
            if waiting >= count:
                return
            assert time.monotonic() < deadline, f"{count} batches did not reach the collector"
            time.sleep(0.02)

    def stored_events(self, **filters: str) -> list[dict[str, object]]:
        response = self.admin.get("/v1/events", params={"limit": "1000", **filters})
        response.raise_for_status()
        events: list[dict[str, object]] = response.json()["events"]
        return events


def demo_site_app(site: Site, admin_key: str | None) -> Starlette:
    """The demo site for `site`, plus the host pages tests add (`site.add_page`)."""

    async def fixture(request: Request) -> Response:
        html, csp = site.fixtures[request.path_params["name"]]
        headers = {"Content-Security-Policy": csp} if csp else {}
        return HTMLResponse(html, headers=headers)

    async def script(request: Request) -> Response:
        source = site.scripts[request.path_params["name"]]
        return Response(source, media_type="text/javascript")

    async def streamed(request: Request) -> Response:
        parts = site.streams[request.path_params["name"]]

        async def body() -> AsyncIterator[bytes]:
            for pause, gate, html in parts:
                await asyncio.sleep(pause)
                while gate is not None and not gate.is_set():
                    await asyncio.sleep(0.02)
                yield html.encode()

        return StreamingResponse(body(), media_type="text/html; charset=utf-8")

    return Starlette(
        routes=[
            Route("/fixtures/{name}", fixture),
            Route("/streamed/{name}", streamed),
            Route("/scripts/{name}", script),
            Mount(
                "/",
                create_demo_site(
                    site.collector_url,
                    admin_key=admin_key,
                    member_secret=MEMBER_SECRET,
                    member_audience=site.url,
                ),
            ),
        ]
    )


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def start_site(
    data_dir: Path, write_gate: WriteGate = always_open
) -> tuple[Site, list[RunningServer]]:
    """A real collector (its database in `data_dir`) and the demo site, each on a free port.

    `write_gate` is the collector's test switch for batch writes (a `HeldGate` holds them).
    """
    assert BUNDLE.is_file(), "static/allegro.js is missing: run `make build` (make test does)"
    site_sock, collector_sock = free_socket(), free_socket()
    site_url, collector_url = url_of(site_sock), url_of(collector_sock)
    settings = Settings(
        db_path=data_dir / "events.sqlite3",
        signing_key=SigningKey.from_secret("browser-tests-secret"),
        allowed_origins=(site_url,),
        admin_key=ADMIN_KEY,
        member_secret=MEMBER_SECRET.encode(),
        member_audience=site_url,
    )
    admin = httpx.Client(
        base_url=collector_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10
    )
    site = Site(site_url, collector_url, admin)
    servers = [
        serve_in_thread(create_collector(settings, write_gate=write_gate), collector_sock),
        serve_in_thread(demo_site_app(site, ADMIN_KEY), site_sock),
    ]
    return site, servers


def stop_site(site: Site, servers: list[RunningServer]) -> None:
    site.admin.close()
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site, servers = start_site(tmp_path_factory.mktemp("collector"))
    yield site
    stop_site(site, servers)


@pytest.fixture(scope="session")
def micro_site_socket() -> socket.socket:
    """Where `micro_site` serves the demo site (bound first: it is the member tokens' audience)."""
    return free_socket()


@pytest.fixture(scope="session")
def allegro_micro_options(micro_site_socket: socket.socket) -> dict[str, Any]:
    """The micro collector of `allegro_sdk.testing` for these tests: member login for the demo
    site of `micro_site`."""
    return {"member_secret": MEMBER_SECRET, "member_audience": url_of(micro_site_socket)}


@pytest.fixture(scope="session")
def micro_site(
    allegro_micro_server: MicroClient, micro_site_socket: socket.socket
) -> Iterator[Site]:
    """The demo site on the micro collector, as a site tests its own tracking with the kit."""
    assert BUNDLE.is_file(), "static/allegro.js is missing: run `make build` (make test does)"
    admin_key = allegro_micro_server.admin_key
    admin = httpx.Client(
        base_url=allegro_micro_server.url,
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )
    site = Site(url_of(micro_site_socket), allegro_micro_server.url, admin)
    server = serve_in_thread(demo_site_app(site, admin_key), micro_site_socket)
    yield site
    stop_site(site, [server])


@pytest.fixture
def gated_site(tmp_path: Path) -> Iterator[tuple[Site, HeldGate]]:
    """A collector of this test alone whose batch writes a test can hold (slow answers)."""
    gate = HeldGate()
    site, servers = start_site(tmp_path, gate)
    yield site, gate
    gate.open()  # held writes must finish before the server can stop
    stop_site(site, servers)


@pytest.fixture
def own_site(tmp_path: Path) -> Iterator[Site]:
    """A collector and demo site of this test alone: for events the other tests must not see
    (the live view lists every device's events)."""
    site, servers = start_site(tmp_path)
    yield site
    stop_site(site, servers)


@dataclass
class Console:
    """What a page printed: every message, and the errors (which a test usually wants none of)."""

    messages: list[ConsoleMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def texts(self, kind: str) -> list[str]:
        return [m.text for m in self.messages if m.type == kind]

    @property
    def errors(self) -> list[str]:
        return self.texts("error") + self.page_errors


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    context = browser.new_context()
    context.add_init_script(RECORDER)
    tab = context.new_page()
    tab.on("console", lambda message: console.messages.append(message))
    tab.on("pageerror", lambda error: console.page_errors.append(str(error)))
    yield tab
    context.close()


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__violations")
    return found
