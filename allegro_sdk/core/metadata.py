"""Page metadata: the spec's fields found in a snapshot of the page (docs/page-metadata.md).

The browser layer (allegro_sdk/browser/page.py) reads the DOM into a plain snapshot:
    location, referrer, title: location.href, document.referrer, document.title
    canonical: the first <link rel="canonical">'s absolute href, or None
    meta: [[key, content], ...] for every <meta> with content (key: property or name, lower-cased)
    json_ld: each application/ld+json block, parsed (malformed blocks left out)
    microdata: the top-level items, {"type": [...], "props": {name: [string or item, ...]}}
Every rule lives here, so it runs and is tested under CPython. Any part of the snapshot may be
missing or of the wrong shape: it is then ignored, never an error.

Precedence, first source with a value wins:
    allegro:FIELD meta tags > meta tags (OpenGraph, article:*, well-known id tags) > JSON-LD
    > microdata > the browser. `url` is the address as visited (location without its fragment);
    `canonical_url` is the content's own address: canonical link before og:url. page_title and
    referer come from the browser only; publisher falls back to app names last.
"""

from __future__ import annotations

from .content_types import (
    CONTENT_KINDS,
    PAGE_KINDS,
    bare_type,
    known_content_type,
    normalise_content_type,
)
from .event import STRING_FIELDS
from .protocol import MAX_TEXT_CHARS

ALLEGRO_PREFIX = "allegro:"
# Tags that name a content id (Open Graph's article:id and product:retailer_item_id, Parse.ly,
# Webtrends, Dow Jones, Cxense), in this order.
CONTENT_ID_META = (
    "article:id",
    "og:article:id",
    "product:retailer_item_id",
    "og:product:retailer_item_id",
    "article.id",
    "parsely-post-id",
    "dcsext.contentid",
    "cxenseparse:articleid",
)
# App names, the publisher's last resort: the web app manifest's name in HTML, then App Links'.
APP_NAME_META = ("application-name", "al:ios:app_name", "al:android:app_name", "al:web:app_name")
SECTION_META = ("article:section", "og:article:section")
# schema.org properties that carry a content id, in this order (JSON-LD and microdata alike).
ID_PROPERTIES = (
    "identifier",
    "sku",
    "productID",
    "gtin",
    "gtin13",
    "gtin14",
    "gtin12",
    "gtin8",
    "postId",
)
# schema.org types that are never the page's main entity unless the page says so (mainEntity):
# the site's organisation, navigation and the small pieces other nodes are made of.
_AUXILIARY = (
    "organization corporation newsmediaorganization localbusiness brand person thing "
    "breadcrumblist listitem itemlist sitenavigationelement searchaction entrypoint readaction "
    "propertyvalue aggregaterating rating place postaladdress geocoordinates contactpoint "
    "wpheader wpfooter wpsidebar webpageelement speakablespecification"
)
AUXILIARY_TYPES = frozenset(_AUXILIARY.split())
MAX_DEPTH = 32


def page_metadata(snapshot: dict[str, object]) -> dict[str, str]:
    """The spec's string fields found on the page: trimmed, capped, empty ones left out."""
    meta = meta_tags(snapshot.get("meta"))
    json_ld = JsonLd(snapshot.get("json_ld"))
    microdata = main_item(snapshot.get("microdata"))
    location = without_fragment(text(snapshot.get("location")))
    candidates: dict[str, list[str | None]] = {
        "url": [location],
        "canonical_url": [
            absolute_url(text(snapshot.get("canonical")), location),
            absolute_url(meta.get("og:url", ""), location),
        ],
        "referer": [text(snapshot.get("referrer"))],
        "page_title": [text(snapshot.get("title"))],
        "content_type": [
            declared_kind([meta.get("og:type", "")]),
            json_ld.content_type(),
            declared_kind(item_types(microdata)),
        ],
        "content_id": [
            *[meta.get(key) for key in CONTENT_ID_META],
            json_ld.content_id(),
            item_id(microdata),
        ],
        "publisher": [
            meta.get("og:site_name"),
            json_ld.publisher(),
            item_publisher(microdata),
            *[meta.get(key) for key in APP_NAME_META],
        ],
        "context": [
            *[meta.get(key) for key in SECTION_META],
            json_ld.section(),
            first_text(item_values(microdata, "articleSection")),
        ],
    }
    fields: dict[str, str] = {}
    for name, values in candidates.items():
        value = first(values)
        if value:
            fields[name] = value
    for name in STRING_FIELDS:
        value = clean(meta.get(ALLEGRO_PREFIX + name))
        if value:
            fields[name] = value
    return fields


# -- small values ---------------------------------------------------------------------------------


def text(value: object) -> str:
    """A string value, or "" for anything else (numbers are ids too, booleans are not)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return ""


def clean(value: str | None) -> str:
    """Trimmed and capped at MAX_TEXT_CHARS characters, without NUL (U+0000): the collector
    refuses an event with one in a field (a database text column cannot hold it), and a page
    may set one in its title by script."""
    if not value:
        return ""  # most candidates: no slicing, which costs in the browser's runtime
    if "\x00" in value:
        value = value.replace("\x00", "")
    value = value.strip()
    return value[:MAX_TEXT_CHARS].strip() if len(value) > MAX_TEXT_CHARS else value


def first(values: list[str | None]) -> str:
    """The first value that is not empty once cleaned, or ""."""
    for value in values:
        cleaned = clean(value)
        if cleaned:
            return cleaned
    return ""


def without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def absolute_url(url: str, location: str) -> str:
    """`url` without its fragment when it is absolute or resolvable simply; else ""."""
    url = without_fragment(url.strip())
    if url.startswith(("http://", "https://")):
        return url
    scheme, _, rest = location.partition("://")
    if not rest:
        return ""
    if url.startswith("//"):
        return scheme + ":" + url
    if url.startswith("/"):
        return scheme + "://" + rest.split("/", 1)[0].split("?", 1)[0] + url
    return ""


def meta_tags(value: object) -> dict[str, str]:
    """The snapshot's meta pairs as a dict; the first tag with a key wins."""
    tags: dict[str, str] = {}
    for pair in value if isinstance(value, list) else []:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            key, content = text(pair[0]).strip().lower(), text(pair[1])
            if key and content.strip() and key not in tags:
                tags[key] = content
    return tags


def declared_kind(types: list[str]) -> str | None:
    """The vocabulary word for the first declared type the table knows, else for the first type."""
    declared = [name for name in types if name.strip()]
    for name in declared:
        kind = known_content_type(name)
        if kind:
            return kind
    return normalise_content_type(declared[0]) if declared else None


def rank(types: list[str]) -> int | None:
    """How well a node with these types describes the page's content; None: never on its own."""
    kinds = [known_content_type(name) for name in types]
    if any(kind in CONTENT_KINDS and kind != "image" for kind in kinds):
        return 0
    if "image" in kinds:
        return 1
    if not types or all(bare_type(name) in AUXILIARY_TYPES for name in types):
        return None
    if any(kind in PAGE_KINDS for kind in kinds):
        return 3
    return 2


def best(candidates: list[tuple[bool, list[str], dict[str, object]]]) -> dict[str, object] | None:
    """The main entity among (declared main, types, node) in page order.

    Declared ones (mainEntity / mainEntityOfPage) first, then by rank(), then the earliest.
    """
    chosen: dict[str, object] | None = None
    chosen_key: tuple[int, int] | None = None
    for declared, types, node in candidates:
        node_rank = rank(types)
        if node_rank is None:
            if not declared:
                continue
            node_rank = 4
        key = (0 if declared else 1, node_rank)
        if chosen_key is None or key < chosen_key:
            chosen, chosen_key = node, key
    return chosen


def first_text(values: list[object]) -> str | None:
    """The first value that is a non-empty string or number."""
    for value in values:
        if text(value).strip():
            return text(value)
    return None


# -- JSON-LD --------------------------------------------------------------------------------------


class JsonLd:
    """The page's JSON-LD blocks: every node, the nodes by @id, and the main entity."""

    def __init__(self, blocks: object) -> None:
        self.by_id: dict[str, dict[str, object]] = {}
        self.top: list[dict[str, object]] = []
        self.nodes: list[dict[str, object]] = []
        self._walk(blocks, True, 0)
        self.main = self._main_entity()

    def _walk(self, value: object, top: bool, depth: int) -> None:
        """Collect nodes: top-level ones are in blocks, lists, @graph or type-less wrappers."""
        if depth > MAX_DEPTH:
            return
        if isinstance(value, list):
            for child in value:
                self._walk(child, top, depth + 1)
        elif isinstance(value, dict):
            is_node = "@type" in value
            if is_node:
                self.nodes.append(value)
                if top:
                    self.top.append(value)
            node_id = text(value.get("@id"))
            if node_id and len(value) > 1 and node_id not in self.by_id:
                self.by_id[node_id] = value
            for key, child in value.items():
                if key != "@context":
                    self._walk(child, top and (key == "@graph" or not is_node), depth + 1)

    def resolve(self, value: object) -> object:
        """A node for an @id reference ({"@id": ...} alone) defined elsewhere on the page."""
        if isinstance(value, dict) and "@type" not in value:
            return self.by_id.get(text(value.get("@id")), value)
        return value

    def types(self, node: dict[str, object]) -> list[str]:
        value = node.get("@type")
        names = value if isinstance(value, list) else [value]
        return [name for name in names if isinstance(name, str)]

    def _main_entity(self) -> dict[str, object] | None:
        declared: list[dict[str, object]] = []
        for node in self.nodes:
            for target in as_list(node.get("mainEntity")):
                entity = self.resolve(target)
                if isinstance(entity, dict) and "@type" in entity:
                    declared.append(entity)
        declared.extend(node for node in self.top if node.get("mainEntityOfPage"))
        candidates = [(True, self.types(node), node) for node in declared]
        candidates.extend((False, self.types(node), node) for node in self.top)
        return best(candidates)

    def values(self, name: str, node: dict[str, object] | None = None) -> list[object]:
        """The main entity's (or `node`'s) values of a property, references resolved."""
        node = self.main if node is None else node
        if node is None:
            return []
        return [self.resolve(value) for value in as_list(node.get(name))]

    def content_type(self) -> str | None:
        return declared_kind(self.types(self.main)) if self.main is not None else None

    def content_id(self) -> str | None:
        for name in ID_PROPERTIES:
            for value in self.values(name):
                found = first_text([value.get("value") if isinstance(value, dict) else value])
                if found:
                    return found
        return None

    def publisher(self) -> str | None:
        """The main entity's publisher, else the first publisher another top-level node names."""
        for node in [self.main, *self.top]:
            for value in self.values("publisher", node) if node is not None else []:
                name = first_text(as_list(value.get("name"))) if isinstance(value, dict) else value
                if isinstance(name, str) and name.strip():
                    return name
        return None

    def section(self) -> str | None:
        return first_text(self.values("articleSection"))


def as_list(value: object) -> list[object]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# -- microdata ------------------------------------------------------------------------------------


def item_types(item: dict[str, object] | None) -> list[str]:
    value = item.get("type") if item is not None else None
    return [name for name in as_list(value) if isinstance(name, str)]


def item_values(item: dict[str, object] | None, name: str) -> list[object]:
    props = item.get("props") if item is not None else None
    return as_list(props.get(name)) if isinstance(props, dict) else []


def main_item(items: object) -> dict[str, object] | None:
    """The top-level item that describes the content (declared with mainEntityOfPage first)."""
    candidates = [
        (bool(item_values(item, "mainEntityOfPage")), item_types(item), item)
        for item in as_list(items)
        if isinstance(item, dict)
    ]
    return best(candidates)


def item_id(item: dict[str, object] | None) -> str | None:
    for name in ID_PROPERTIES:
        values = [
            first_text(item_values(value, "value")) if isinstance(value, dict) else value
            for value in item_values(item, name)
        ]
        found = first_text(values)
        if found:
            return found
    return None


def item_publisher(item: dict[str, object] | None) -> str | None:
    for value in item_values(item, "publisher"):
        name = first_text(item_values(value, "name")) if isinstance(value, dict) else text(value)
        if name and name.strip():
            return name
    return None
