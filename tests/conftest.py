"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import launch_chromium
from playwright.sync_api import Browser, sync_playwright

# pytester: tests/sdk_testing runs the kit's fixtures in a pytest of their own.
pytest_plugins = ["pytester", "allegro_sdk.testing.plugin"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run (Playwright's sync API allows one per thread)."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
