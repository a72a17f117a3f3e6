"""Reads the page's metadata from the DOM at the moment of a track() call (or, while the document
is still loading, once it is parsed: `when_parsed`).

The DOM is turned into a plain snapshot (allegro_sdk/core/metadata.py holds every rule). Reading
and parsing is cached until the URL, the title or the number of metadata elements changes, so a
track() on an unchanged page costs one querySelectorAll (docs/page-metadata.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import javascript
from browser import window

from allegro_sdk.browser.boot_js import guard
from allegro_sdk.browser.js import closest, is_missing
from allegro_sdk.core.metadata import page_metadata

if TYPE_CHECKING:
    from browser import JSObject

METADATA_SELECTOR = 'meta, link[rel~="canonical"], script[type="application/ld+json"], [itemscope]'


def read_json_ld(document: JSObject) -> list[object]:
    blocks = []
    for script in document.querySelectorAll('script[type="application/ld+json"]'):
        try:
            blocks.append(javascript.JSON.parse(str(script.textContent)))
        except Exception:
            continue
    return blocks


def read_meta(document: JSObject) -> list[list[str]]:
    tags = []
    for meta in document.querySelectorAll("meta[content]"):
        key = meta.getAttribute("property") or meta.getAttribute("name")
        if key:
            tags.append([str(key).strip().lower(), str(meta.getAttribute("content"))])
    return tags


def prop_value(element: JSObject) -> object:
    """An itemprop's value, as the microdata spec defines it for common elements."""
    if element.hasAttribute("itemscope"):
        return read_item(element)
    for attribute in ("content", "href", "src", "datetime"):
        if element.hasAttribute(attribute):
            value = getattr(element, attribute, None) if attribute in ("href", "src") else None
            return str(value or element.getAttribute(attribute)).strip()
    return " ".join(str(element.textContent).split())


def read_item(item: JSObject) -> dict[str, object]:
    """One itemscope: its types and the properties that belong to it (not to nested items)."""
    types = str(item.getAttribute("itemtype") or "").split()
    props: dict[str, list[object]] = {}
    for element in item.querySelectorAll("[itemprop]"):
        parent = element.parentElement
        owner = None if is_missing(parent) else closest(parent, "[itemscope]")
        if owner is None or owner != item:
            continue
        value = prop_value(element)
        for name in str(element.getAttribute("itemprop")).split():
            props.setdefault(name, []).append(value)
    return {"type": types, "props": props}


def read_microdata(document: JSObject) -> list[dict[str, object]]:
    """Top-level items: an itemscope without itemprop (microdata's rule), or inside no other
    item (an itemprop with no item to belong to, as Blogger writes)."""
    items = []
    for item in document.querySelectorAll("[itemscope]"):
        parent = item.parentElement
        if (
            not item.hasAttribute("itemprop")
            or is_missing(parent)
            or closest(parent, "[itemscope]") is None
        ):
            items.append(read_item(item))
    return items


def snapshot() -> dict[str, object]:
    document = window.document
    canonical = document.querySelector('link[rel~="canonical"][href]')
    return {
        "location": str(window.location.href),
        "referrer": str(document.referrer),
        "title": str(document.title),
        "canonical": str(canonical.href) if canonical else None,
        "meta": read_meta(document),
        "json_ld": read_json_ld(document),
        "microdata": read_microdata(document),
    }


class PageReader:
    """read_page() for the tracker, with the cache described above."""

    def __init__(self) -> None:
        self._key: tuple[str, str, int] | None = None
        self._fields: dict[str, str] = {}

    def __call__(self) -> dict[str, str]:
        document = window.document
        key = (
            str(window.location.href),
            str(document.title),
            int(document.querySelectorAll(METADATA_SELECTOR).length),
        )
        if key != self._key:
            self._fields = page_metadata(snapshot())
            self._key = key
        return dict(self._fields)


class WhenParsed:
    """Runs tasks once the document is parsed: at once, or in order at DOMContentLoaded.

    The SDK is loaded async, so it often runs while the page is still arriving; a canonical link
    or title further down (some pages put them in the body) is only there once it is parsed.
    """

    def __init__(self) -> None:
        self._waiting: list[object] = []

    def __call__(self, task: object) -> None:
        if str(window.document.readyState) != "loading":
            task()  # type: ignore[operator]
            return
        if not self._waiting:
            window.document.addEventListener("DOMContentLoaded", guard(self._run))
        self._waiting.append(task)

    def _run(self, event: object = None) -> None:
        waiting, self._waiting = self._waiting, []
        for task in waiting:
            task()  # type: ignore[operator]
