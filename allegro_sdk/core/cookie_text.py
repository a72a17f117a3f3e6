"""document.cookie's text format: reading one cookie, writing one with its attributes."""

from __future__ import annotations


def read_cookie(header: str, name: str) -> str | None:
    """The value of cookie `name` in a `document.cookie` string, or None."""
    prefix = name + "="
    for part in header.split(";"):
        part = part.strip()
        if part.startswith(prefix):
            return part[len(prefix) :]
    return None


def cookie_assignment(
    name: str, value: str, max_age_seconds: int, secure: bool, domain: str | None = None
) -> str:
    """The string to assign to `document.cookie` to set one first-party cookie."""
    parts = [f"{name}={value}", f"Max-Age={max_age_seconds}", "Path=/", "SameSite=Lax"]
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def domain_matches(host: str, domain: str) -> bool:
    """Whether a page on `host` may set cookies for `domain` (".example.com" or "example.com")."""
    bare = domain.strip().lstrip(".").lower()
    host = host.lower()
    return bool(bare) and "." in bare and (host == bare or host.endswith("." + bare))
