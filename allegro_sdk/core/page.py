"""Page metadata rules over a snapshot of the page that the browser layer reads."""

from __future__ import annotations


def without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def page_fields(location: str, referrer: str, title: str) -> dict[str, str]:
    """The spec's fields that every page has: its URL (no fragment), referrer and title."""
    fields = {"url": without_fragment(location), "page_title": title.strip()}
    if referrer:
        fields["referer"] = referrer
    return fields
