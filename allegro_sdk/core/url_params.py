"""Query parameters removed from `url`, `referer` and `url_in_click` before an event is sent.

Addresses carry personal data more often than sites intend (a newsletter link with `?email=`, a
login link with `?token=`). The SDK strips DEFAULT_STRIPPED, plus the names the script tag's
`data-strip-params` lists, wherever they appear; campaign parameters (utm_*, gclid...) are kept.
"""

from __future__ import annotations

DEFAULT_STRIPPED = frozenset(
    (
        "email",
        "e-mail",
        "e_mail",
        "mail",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "auth",
        "password",
        "passwd",
        "pwd",
        "secret",
        "api_key",
        "apikey",
        "phone",
        "ssn",
    )
)
URL_FIELDS = ("url", "referer", "url_in_click")


def stripped_names(setting: str | None) -> frozenset[str]:
    """DEFAULT_STRIPPED plus the setting's names (separated by commas or spaces), lower-cased."""
    extra = (setting or "").replace(",", " ").lower().split()
    return DEFAULT_STRIPPED.union(extra)


def param_name(part: str) -> str:
    """A query part's name, decoded ('+' and ASCII %XX) and lower-cased."""
    raw = part.split("=", 1)[0].replace("+", " ")
    name = ""
    index = 0
    while index < len(raw):
        char = raw[index]
        code = raw[index + 1 : index + 3]
        if char == "%" and len(code) == 2 and all(c in "0123456789abcdefABCDEF" for c in code):
            name += chr(int(code, 16))
            index += 3
        else:
            name += char
            index += 1
    return name.lower()


def strip_params(url: str, names: frozenset[str]) -> str:
    """`url` without the query parameters named in `names` (the rest kept in order)."""
    if "?" not in url:
        return url
    before, _, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    parts = query.split("&")
    kept = [part for part in parts if part and param_name(part) not in names]
    if len(kept) == len([part for part in parts if part]):
        return url
    return before + ("?" + "&".join(kept) if kept else "") + hash_mark + fragment


def strip_event_urls(event: dict[str, object], names: frozenset[str]) -> None:
    for field in URL_FIELDS:
        value = event.get(field)
        if isinstance(value, str) and value:
            event[field] = strip_params(value, names)
