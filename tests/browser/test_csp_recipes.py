"""The README's recipes for a strict Content-Security-Policy, each on a real page in Chromium:
the snippet in an external file, with a nonce, with a hash (the README prints it), and the
script tag alone. No CSP violation, no console error, the page_view stored."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from playwright.sync_api import Page

from .conftest import ROOT, Console, Site, violations
from .pages import host_page, sdk_tag, wait_until

README = (ROOT / "README.md").read_text("utf-8")
# The one-line snippet of the README's CSP section, and the hash printed for it.
SNIPPET_LINE = re.compile(
    r"^ *<script>(window\.allegro = window\.allegro \|\| \[\];.*)</script>$", re.M
)
PRINTED_HASH = re.compile(r"'(sha256-[A-Za-z0-9+/=]+)'")
REPORT = "window.allegro.push(function (a) { window.sdk = a; });"


def readme_snippet() -> str:
    match = SNIPPET_LINE.search(README)
    assert match, "the README's CSP section has no one-line snippet"
    return match.group(1)


def sha256(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


def test_the_readme_prints_the_hash_of_its_snippet() -> None:
    assert sha256(readme_snippet()) in PRINTED_HASH.findall(README)


def page_view_stored(site: Site, page: Page) -> None:
    """The README snippet's page_view reached the collector (its promise is the SDK's)."""
    wait_until(page, "window.sdk && typeof window.sdk.track === 'function'")
    title = page.title()
    for _ in range(150):
        if [e for e in site.stored_events() if e["page_title"] == title]:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"no page_view stored for {title!r}")


@pytest.mark.parametrize("recipe", ["external-file", "nonce", "hash"])
def test_each_csp_recipe_runs_without_violations(
    site: Site, page: Page, console: Console, recipe: str
) -> None:
    snippet = readme_snippet()
    connect = f"connect-src 'self' {site.collector_url}"
    if recipe == "external-file":
        src = site.add_script("allegro-snippet.js", snippet + REPORT)
        head = f'<script src="{src}"></script>'
        csp = f"script-src 'self'; {connect}"
    elif recipe == "nonce":
        head = f'<script nonce="r4nd0m">{snippet}</script><script nonce="r4nd0m">{REPORT}</script>'
        csp = f"script-src 'self' 'nonce-r4nd0m'; {connect}"
    else:
        report = site.add_script("report.js", REPORT)
        head = f'<script>{snippet}</script><script src="{report}"></script>'
        csp = f"script-src 'self' '{sha256(snippet)}'; {connect}"
    title = f"CSP recipe {recipe}"
    url = site.add_page(f"csp-{recipe}", host_page(head + sdk_tag(site.collector_url), title), csp)
    page.goto(url)
    page_view_stored(site, page)
    assert violations(page) == []
    assert console.errors == []
