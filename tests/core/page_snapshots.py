"""Page snapshots from saved HTML, built with the stdlib only, as the browser layer builds them.

The snapshot is the contract between allegro_sdk/browser/page.py and allegro_sdk/core/metadata.py:
location, referrer, title (as document.title gives it), canonical (absolute), meta (every <meta>
with content: [property or name, lower-cased and stripped; content as is]), json_ld (each parsable
application/ld+json block; malformed blocks omitted) and microdata (the top-level items).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

# A copy of the team's ../shared/real-pages, kept in the repository so that a clone alone runs
# every test (tests/real_pages/README.md says where the pages come from).
REAL_PAGES = Path(__file__).resolve().parents[1] / "real_pages"

# Elements that never have an end tag (HTML's void elements).
_VOID = "area base br col embed hr img input link meta param source track wbr"
VOID_ELEMENTS = frozenset(_VOID.split())
ASCII_WHITESPACE = " \t\n\f\r"


@dataclass
class Item:
    """One itemscope being read: its types and its properties' values."""

    types: list[str]
    props: dict[str, list[object]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        props = {
            name: [value.as_dict() if isinstance(value, Item) else value for value in values]
            for name, values in self.props.items()
        }
        return {"type": self.types, "props": props}


@dataclass
class Open:
    """An open element: its tag, the item it starts (if any), and its pending itemprop names."""

    tag: str
    text_start: int
    item: Item | None = None
    prop_names: list[str] = field(default_factory=list)
    prop_owner: Item | None = None


class SnapshotParser(HTMLParser):
    """Collects what the browser layer reads: title, meta, canonical, JSON-LD and microdata."""

    def __init__(self, location: str) -> None:
        super().__init__(convert_charrefs=True)
        self.location = location
        self.base = location
        self.title: str | None = None
        self.canonical: str | None = None
        self.meta: list[list[str]] = []
        self.json_ld: list[object] = []
        self.items: list[Item] = []
        self.texts: list[str] = []
        self.stack: list[Open] = []
        self._title_start: int | None = None
        self._ld_start: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self._read_head_element(tag, values)
        element = Open(tag, len(self.texts))
        self._read_microdata(element, values)
        if tag in VOID_ELEMENTS:
            self._close(element)
        else:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS and self.stack and self.stack[-1].tag == tag:
            self._close(self.stack.pop())

    def handle_endtag(self, tag: str) -> None:
        if not any(element.tag == tag for element in self.stack):
            return
        while self.stack:
            element = self.stack.pop()
            self._close(element)
            if element.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def _read_head_element(self, tag: str, values: dict[str, str]) -> None:
        if tag == "title" and self.title is None and self._title_start is None:
            self._title_start = len(self.texts)
        elif tag == "base" and "href" in values and self.base == self.location:
            self.base = urljoin(self.location, values["href"].strip())
        elif tag == "link" and self.canonical is None and "href" in values:
            rel = values.get("rel", "").lower().split()
            if "canonical" in rel:
                self.canonical = urljoin(self.base, values["href"].strip())
        elif tag == "meta" and "content" in values:
            key = values.get("property") or values.get("name")
            if key:
                self.meta.append([key.strip().lower(), values["content"]])
        elif tag == "script" and values.get("type", "").strip().lower() == "application/ld+json":
            self._ld_start = len(self.texts)

    def _read_microdata(self, element: Open, values: dict[str, str]) -> None:
        owner = self._owner()
        if "itemprop" in values and owner is not None:
            element.prop_names = values["itemprop"].split()
            element.prop_owner = owner
        if "itemscope" in values:
            element.item = Item(values.get("itemtype", "").split())
            if not element.prop_names:
                # Top-level: not the value of another item's property. An itemprop with no item
                # around it (Blogger's itemprop="blogPost") belongs to nothing, so it is top-level.
                self.items.append(element.item)
        if element.prop_names:
            value = element.item or self._attribute_value(values)
            if value is not None:
                self._add_prop(element, value)
                element.prop_names = []

    def _attribute_value(self, values: dict[str, str]) -> str | None:
        """Like the browser layer: content, href, src, datetime (URLs absolute), else the text."""
        for attribute in ("content", "href", "src", "datetime"):
            if attribute in values:
                value = values[attribute]
                if attribute in ("href", "src"):
                    value = urljoin(self.base, value.strip())
                return value.strip()
        return None

    def _owner(self) -> Item | None:
        for element in reversed(self.stack):
            if element.item is not None:
                return element.item
        return None

    def _add_prop(self, element: Open, value: object) -> None:
        assert element.prop_owner is not None
        for name in element.prop_names:
            element.prop_owner.props.setdefault(name, []).append(value)

    def _close(self, element: Open) -> None:
        text = "".join(self.texts[element.text_start :])
        if element.prop_names:
            self._add_prop(element, " ".join(text.split()))
        if element.tag == "title" and self._title_start is not None and self.title is None:
            self.title = document_title(text)
        if element.tag == "script" and self._ld_start is not None:
            self._add_json_ld(text)
            self._ld_start = None

    def _add_json_ld(self, text: str) -> None:
        try:
            self.json_ld.append(json.loads(text))
        except ValueError:
            return  # a malformed block is skipped, as the browser layer does


def document_title(text: str) -> str:
    """document.title: the <title> text with ASCII whitespace stripped and collapsed."""
    for char in ASCII_WHITESPACE:
        text = text.replace(char, " ")
    return " ".join(part for part in text.split(" ") if part)


def snapshot_from_html(html: str, location: str, referrer: str = "") -> dict[str, object]:
    """The snapshot a browser at `location` gives for `html`."""
    parser = SnapshotParser(location)
    parser.feed(html)
    parser.close()
    while parser.stack:
        parser._close(parser.stack.pop())
    return {
        "location": location,
        "referrer": referrer,
        "title": parser.title or "",
        "canonical": parser.canonical,
        "meta": parser.meta,
        "json_ld": parser.json_ld,
        "microdata": [item.as_dict() for item in parser.items],
    }


@cache
def real_pages() -> dict[str, dict[str, object]]:
    """The real pages' entries from expected.json, by name."""
    pages: dict[str, dict[str, object]] = json.loads(
        (REAL_PAGES / "expected.json").read_text(encoding="utf-8")
    )
    return pages


@cache
def real_page_snapshot(name: str) -> dict[str, object]:
    """The snapshot of one real page, loaded at its request_url."""
    entry = real_pages()[name]
    html = (REAL_PAGES / str(entry["file"])).read_text(encoding="utf-8")
    return snapshot_from_html(html, str(entry["request_url"]))
