"""What the SDK should read from each page of the demo site: the page metadata the markup declares.

Shared by tests/demo_site (the rules applied to the served HTML) and tests/browser (the stored
events). Paths are relative to the site's origin; `url` is the path as visited, and every page
declares it as its canonical address too (`canonical_url`).
"""

from __future__ import annotations

SITE = "The Daily Allegro"

PAGE_METADATA: dict[str, dict[str, str]] = {
    "/": {
        "url": "/",
        "page_title": "The Daily Allegro: music news from the city",
        "content_type": "website",
        "publisher": SITE,
        "context": "home",
    },
    "/articles/orchestra-opens-season": {
        "url": "/articles/orchestra-opens-season",
        "page_title": "Local orchestra opens its season | The Daily Allegro",
        "content_type": "article",
        "content_id": "article-1001",
        "publisher": SITE,
        "context": "Culture",
    },
    "/articles/inside-the-conductors-score": {
        "url": "/articles/inside-the-conductors-score",
        "page_title": "Inside the conductor's score | The Daily Allegro",
        "content_type": "premium",
        "content_id": "article-1002",
        "publisher": SITE,
        "context": "Music",
        "object_type": "article",
        "object_id": "1002",
    },
    "/video/first-rehearsal": {
        "url": "/video/first-rehearsal",
        "page_title": "First rehearsal, in 90 seconds | The Daily Allegro",
        "content_type": "video",
        "content_id": "video-2001",
        "publisher": SITE,
    },
    "/shop/season-ticket": {
        "url": "/shop/season-ticket",
        "page_title": "Season ticket 2026/27 | The Daily Allegro shop",
        "content_type": "product",
        "content_id": "sku-season-2026",
        "publisher": SITE,
    },
    "/login": {
        "url": "/login",
        "page_title": "Log in | The Daily Allegro",
        "content_type": "website",
        "publisher": SITE,
    },
    "/live": {
        "url": "/live",
        "page_title": "Live events | The Daily Allegro",
        "content_type": "website",
        "publisher": SITE,
        "context": "live view",
    },
    "/dashboard": {
        "url": "/dashboard",
        "page_title": "Dashboard | The Daily Allegro",
        "content_type": "website",
        "publisher": SITE,
        "context": "dashboard",
    },
}


def expected_metadata(path: str, origin: str) -> dict[str, str]:
    """The fields for the page at `path` of a site served at `origin`, with an absolute url."""
    fields = dict(PAGE_METADATA[path])
    fields["url"] = origin + fields["url"]
    fields["canonical_url"] = fields["url"]
    return fields
