"""Host pages for the browser tests, served at the demo site's origin."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from playwright.sync_api import Page

if TYPE_CHECKING:
    from .conftest import Site

STRICT_CSP = "script-src 'self' 'nonce-test'; connect-src 'self' {collector}"


def snippet(body: str) -> str:
    """An inline script allowed by the pages' nonce."""
    return f'<script nonce="test">{body}</script>'


def sdk_tag(collector: str) -> str:
    return f'<script async src="/static/allegro.js" data-collector="{collector}"></script>'


def host_page(head: str, title: str = "Host page") -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>{title}</title>{head}</head><body><p>host</p></body></html>"
    )


def serve_page(page: Page, site: Site, name: str, html: str, csp: str | None) -> None:
    """Serve `html` (with a CSP header) at the demo site's origin, then open it."""
    page.goto(site.add_page(name, html, csp))


def wait_until(page: Page, expression: str, timeout: float = 15.0) -> object:
    """Poll a JS expression until it is truthy (wait_for_function would need 'unsafe-eval')."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for: {expression}"
        time.sleep(0.05)
