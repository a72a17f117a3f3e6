"""Reads the page's metadata from the DOM at the moment of a track() call."""

from __future__ import annotations

from browser import window

from allegro_sdk.core.page import page_fields


def read_page() -> dict[str, str]:
    document = window.document
    return page_fields(str(window.location.href), str(document.referrer), str(document.title))
