"""`allegro-collector snippet`: what a site pastes into its pages, for this collector's bundle.

The inline snippet (the queue `allegro.push(fn)` fills before the SDK has loaded, and the page's
`page_view`), with its CSP hash, and the script tag that loads the hashed bundle from the
collector with `integrity` and `crossorigin`, so a browser refuses any other bytes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from allegro_collector.sdk_files import SDK_PREFIX, Bundle, NoBundleError, load_bundle

# The README's one-line snippet, so the hash it prints for a strict CSP is this one's.
INLINE_SCRIPT = (
    "window.allegro = window.allegro || []; allegro.push(function (a) { a.track('page_view'); });"
)


def csp_hash(script: str) -> str:
    """The CSP source that allows this inline script: `'sha256-<base64>'` of its exact text."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def origin_of(url: str, flag: str) -> str:
    """`url` as an origin (`https://host[:port]`), or a ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{flag} must be an http(s) URL such as https://collect.example: {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{flag} must be the collector's origin, without a path: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def render(collector: str, bundle: Bundle, sdk_base: str | None = None) -> str:
    """The snippet, the script tag, and the Content-Security-Policy that allows both."""
    origin = origin_of(collector, "--collector")
    base = (sdk_base or origin + SDK_PREFIX).rstrip("/") + "/"
    src = base + bundle.file
    script_origin = origin_of(f"{urlsplit(src).scheme}://{urlsplit(src).netloc}", "--sdk-base-url")
    attributes = (
        f'async src="{html.escape(src)}" integrity="{bundle.integrity}" '
        f'crossorigin="anonymous" data-collector="{html.escape(origin)}"'
    )
    script_sources = " ".join(dict.fromkeys([csp_hash(INLINE_SCRIPT), script_origin]))
    return (
        "<!-- allegro: paste into every page's <head> -->\n"
        f"<script>{INLINE_SCRIPT}</script>\n"
        f"<script {attributes}></script>\n"
        "\n"
        "<!-- if the site sends a Content-Security-Policy, it needs these sources: -->\n"
        f"Content-Security-Policy: script-src {script_sources}; connect-src {origin}\n"
    )


def add_snippet_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--collector",
        required=True,
        metavar="URL",
        help="the collector's public origin, as pages reach it, e.g. https://collect.example",
    )
    parser.add_argument(
        "--sdk-base-url",
        metavar="URL",
        help="where pages load the bundle from, if not the collector's /sdk/ "
        "(e.g. a CDN that mirrors it)",
    )
    parser.add_argument(
        "--sdk-dir",
        type=Path,
        metavar="PATH",
        help="a built bundle's directory (default: the installed one, or static/ in a checkout)",
    )


def snippet(args: argparse.Namespace, environ: Mapping[str, str]) -> Callable[[], None]:
    try:
        text = render(args.collector, load_bundle(args.sdk_dir), args.sdk_base_url)
    except NoBundleError as exc:
        raise ValueError(str(exc)) from exc
    return lambda: print(text, end="")
