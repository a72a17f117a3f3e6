"""The script tag's `data-collector`: the only address the SDK ever sends to.

Without a usable one (missing, not http(s), no host, spaces, a query or fragment) the SDK sends
nothing at all, rather than falling back to a relative path on the host site.
"""

from __future__ import annotations

EXAMPLE = 'data-collector="https://collector.your-site.example"'


def check_collector(raw: str | None) -> tuple[str, str]:
    """(the collector's base URL without a trailing slash, "") or ("", what to fix)."""
    value = (raw or "").strip()
    if not value:
        return "", (
            f"the SDK's script tag needs {EXAMPLE} (your collector's address); "
            "nothing is sent until it has one"
        )
    scheme, separator, rest = value.partition("://")
    host = rest.split("/", 1)[0]
    problem = ""
    if not separator or scheme.lower() not in ("http", "https"):
        problem = "is not an http(s) address"
    elif not host or "@" in host or host.startswith(":"):
        problem = "has no host name"
    elif any(char in value for char in " \t\n\r\"'<>\\`{}|^"):
        problem = "contains characters a URL cannot"
    elif "?" in rest or "#" in rest:
        problem = "must not have a query (?) or fragment (#)"
    if problem:
        return (
            "",
            f'data-collector="{value}" {problem}: write it as {EXAMPLE}; '
            "nothing is sent until then",
        )
    return value.rstrip("/"), ""
