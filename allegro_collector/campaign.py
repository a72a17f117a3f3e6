"""Campaign parameters, read by the collector from each event's `url` and stored in their own
columns, so attribution survives whatever the page declares as its canonical address."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from allegro_sdk.core.protocol import MAX_TEXT_CHARS

CAMPAIGN_PARAMS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
    "msclkid",
)


def campaign_params(url: str | None) -> dict[str, str | None]:
    """Each campaign parameter's first non-empty value in `url`'s query (None when absent)."""
    found: dict[str, str | None] = dict.fromkeys(CAMPAIGN_PARAMS)
    if not url or not _may_carry_campaign(url):
        return found
    try:
        query = urlsplit(url).query
    except ValueError:  # an unparsable address (e.g. a broken IPv6 host) has no parameters
        return found
    for name, value in parse_qsl(query, keep_blank_values=False):
        if name in found and found[name] is None and value.strip():
            found[name] = value.strip()[:MAX_TEXT_CHARS]
    return found


_NONE_FOUND = (None,) * len(CAMPAIGN_PARAMS)


def campaign_values(url: str | None) -> tuple[str | None, ...]:
    """`campaign_params(url)`'s values in CAMPAIGN_PARAMS order: the stored columns. An
    address that cannot carry one (most) costs no dict."""
    if not url or not _may_carry_campaign(url):
        return _NONE_FOUND
    return tuple(campaign_params(url).values())


# Every parameter name contains one of these; `%` because a name may be percent-encoded.
_MARKERS = ("utm_", "clid", "clkid", "%")


def _may_carry_campaign(url: str) -> bool:
    """False when no campaign parameter can be in `url`: most addresses, spared the parse."""
    return "?" in url and any(marker in url for marker in _MARKERS)
