"""The site under test and a browser; `allegro_sdk.testing` brings the micro collector."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright
from server import make_server

from allegro_sdk.testing import MicroClient

pytest_plugins = ["allegro_sdk.testing.plugin"]


@pytest.fixture(scope="session")
def site_url(allegro_micro_server: MicroClient) -> Iterator[str]:
    """The site, its script tag pointing at the micro collector."""
    server = make_server(0, allegro_micro_server.url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page() -> Iterator[Page]:
    # CHROMIUM_PATH: a browser of the system instead of the one `playwright install` fetches.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM_PATH"))
        yield browser.new_page()
        browser.close()
