"""Helpers for sites that test their own tracking against a micro collector.

Not part of the browser bundle (the build ships only `allegro_sdk/core` and `allegro_sdk/browser`).
In a site's `conftest.py`:

    pytest_plugins = ["allegro_sdk.testing.plugin"]

then a test takes the `allegro_micro` fixture (a `MicroClient`, reset before each test), points
its page's script tag at `allegro_micro.url` and calls `allegro_micro.expect_event("purchase",
data={"currency": "EUR"})`. To give the collector a member secret (for member.login()),
override the `allegro_micro_options` fixture. See docs/testing-your-site.md.
"""

from allegro_sdk.testing.micro_client import MicroClient, matches

__all__ = ["MicroClient", "matches"]
