"""What reading the page's metadata costs a track() call, on the largest real page.

Usage: .venv/bin/python -m benchmarks.metadata_cost [--loads N] [--calls M]

In headless Chromium, the built SDK is loaded into two pages served at the same address: the
largest saved real page (tests/real_pages, about 290 KB of HTML with OpenGraph, microdata and
JSON-LD), and a baseline page with only a title. On each load it times, inside the page with
performance.now(), the synchronous part of `allegro.track('bench')` (validation, the metadata
read, building and queueing the event): the first call after load (metadata read and parsed:
the cache is empty) and then `--calls` more (warm: the cache holds). The collector is answered by
the script itself (sessions and acknowledgements), so the network plays no part. The difference
between the two pages is what the metadata costs. Prints median and [min-max] over the loads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

from tests.browser_support import CHROMIUM_ARGS, CHROMIUM_EXECUTABLE  # the tests' flags

ROOT = Path(__file__).resolve().parent.parent

BUNDLE = ROOT / "static" / "allegro.js"
REAL_PAGES = ROOT / "tests" / "real_pages"
PAGE_URL = "https://blog.example.test/post.html"
CDN = "https://cdn.allegro.test/allegro.js"
COLLECTOR = "https://collector.allegro.test"
SNIPPET = (
    "<script>window.allegro = window.allegro || [];</script>"
    f'<script async src="{CDN}" data-collector="{COLLECTOR}"></script>'
)
BASELINE = "<!doctype html><html><head><title>Baseline</title></head><body><p>x</p></body></html>"
MEASURE = """async (calls) => {
    while (typeof window.allegro.track !== 'function') {
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const time = () => {
        const start = performance.now();
        allegro.track('bench');
        return performance.now() - start;
    };
    const first = time();
    const warm = [];
    for (let i = 0; i < calls; i++) warm.push(time());
    warm.sort((a, b) => a - b);
    return {first, warm: warm[Math.floor(warm.length / 2)]};
}"""


def with_sdk(html: str) -> str:
    end = html.lower().index("</head>")
    return html[:end] + SNIPPET + html[end:]


def answer_collector(route: Route) -> None:
    headers = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "*"}
    if route.request.method == "OPTIONS":
        route.fulfill(status=204, headers=headers)
    elif route.request.url.endswith("/v1/sessions"):
        body = {"session_id": "s-1", "csrf_token": "t", "expires_at": 9_999_999_999_999}
        route.fulfill(status=201, headers=headers, json=body)
    else:
        events = json.loads(route.request.post_data or "{}").get("events", [])
        accepted = [event["event_id"] for event in events]
        route.fulfill(status=200, headers=headers, json={"accepted": accepted, "rejected": []})


def answer_with(body: bytes, content_type: str) -> Callable[[Route], None]:
    def answer(route: Route) -> None:
        route.fulfill(status=200, content_type=content_type, body=body)

    return answer


def largest_real_page() -> tuple[str, str]:
    pages = sorted((REAL_PAGES / "pages").glob("*.html"), key=lambda p: p.stat().st_size)
    if not pages:
        raise SystemExit(f"no real pages in {REAL_PAGES}")
    return pages[-1].stem, pages[-1].read_text("utf-8")


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    if not BUNDLE.is_file():
        print(f"{BUNDLE} is missing: run make build first", file=sys.stderr)
        return 2
    name, real_html = largest_real_page()
    pages = {f"{name} ({len(real_html):,} B)": with_sdk(real_html), "baseline": with_sdk(BASELINE)}
    results: dict[str, dict[str, list[float]]] = {key: {"first": [], "warm": []} for key in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_EXECUTABLE, args=list(CHROMIUM_ARGS)
        )
        for _ in range(args.loads):
            for label, html in pages.items():
                context = browser.new_context()
                context.route("**/*", lambda route: route.abort())
                context.route(PAGE_URL, answer_with(html.encode(), "text/html; charset=utf-8"))
                context.route(CDN, answer_with(BUNDLE.read_bytes(), "text/javascript"))
                context.route(COLLECTOR + "/**", answer_collector)
                page = context.new_page()
                page.goto(PAGE_URL, wait_until="domcontentloaded")
                figures = page.evaluate(MEASURE, args.calls)
                results[label]["first"].append(figures["first"])
                results[label]["warm"].append(figures["warm"])
                context.close()
        browser.close()
    print(f"track() synchronous cost in ms, median [min-max] over {args.loads} loads")
    print("| page | first call (metadata read) | later calls (cached), median of "
          f"{args.calls} |")  # fmt: skip
    print("|---|---:|---:|")
    for label, figures in results.items():
        print(f"| {label} | {summary(figures['first'])} | {summary(figures['warm'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
