"""What the allegro SDK costs a host page: a streamed article with and without it, in Chromium.

Usage: .venv/bin/python benchmarks/host_cost.py [--runs N] [--throttled-runs N]
       [--profile-runs N] [--bundle PATH] [--json FILE]
(see docs/performance.md.)

The page is a long article (about 146 KB of HTML: OpenGraph and JSON-LD in the head, no external
resources) whose HTML reaches the browser in two halves 150 ms apart, as on real sites: the async
SDK script usually arrives while the document is still being parsed. The page with the SDK holds
the usual snippet (a function pushed onto `window.allegro` that calls `track('page_view')` and
notes when its Promise resolves) and `<script async src=allegro.js>` in the head; the page without
it is the same HTML minus those two scripts. The two pages alternate (in ABBA order), so drift on
the shared machine hits both alike.

Figures, each read inside the page in ms from navigation start (an init script, Playwright
add_init_script, runs before any script of the page):

- the SDK's script runs, from Long Animation Frames (`long-animation-frame` entries, whose
  `scripts` name each script run of 5 ms or more in a frame of 50 ms or more by its sourceURL):
  every run of any script file the SDK loads (`/static/allegro*.js`), its duration plus the style
  and layout it forced. Reported: the longest run, their total, and how many were over 50 ms. A
  function the page pushed runs inside our run and counts as ours: the page's is trivial.
- DOMContentLoaded and load: `domContentLoadedEventEnd`, `loadEventEnd` of the navigation entry.
- page_view acknowledged: the Promise of `track('page_view')` resolved (the collector stored it).

Modes: cold (a fresh browser context per load: empty cache, no cookies), warm (one context per
page, loaded once untimed, then reloaded), and both again with the CPU throttled 4x (CDP
`Emulation.setCPUThrottlingRate`, Chrome DevTools' mid-range phone).

The SDK's total main-thread time (`--profile-runs`, cold and warm, separate loads): a CPU profile
(CDP Profiler, 100 us sampling) from navigation until page_view is acknowledged; the time of the
samples whose stack holds a frame of an SDK script file (its evaluation, compiling its functions
lazily, the runtime's and the SDK's start, tracking and sending). Profiling slows what it
measures, so these loads are kept apart from the timed ones.

Chromium runs with the tests' flags plus its WebUI preload turned off: Chromium 156 preloads a
busy renderer for every new context, which competes with the page on 2 vCPUs (the last
`--disable-features` wins, so Playwright's own list is repeated with the additions).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import brotli  # noqa: E402
from load import (  # noqa: E402
    DASH,
    BenchmarkError,
    Problems,
    collector,
    free_socket,
    git_commit,
    serve_in_thread,
    shown,
    stored_page_views,
)
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, sync_playwright  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402

from tests.browser_support import CHROMIUM_ARGS, CHROMIUM_EXECUTABLE  # noqa: E402

STATIC = ROOT / "static"
BUNDLE = STATIC / "allegro.js"
SDK_URL_PART = "/static/allegro"  # every script file of the SDK is served under this prefix
HALF_DELAY_S = 0.150  # between the two halves of the article's HTML
ARTICLE_PARAGRAPHS = 180  # about 146 KB of HTML
LOAD_TIMEOUT_MS = 30_000
SETTLE_MS = 300  # after load and the acknowledgement: late Long Animation Frame entries arrive
LONG_RUN_MS = 50
THROTTLE_RATE = 4
PAGES = (("baseline", "/article-baseline"), ("allegro", "/article"))
LABELS = {"baseline": "without SDK", "allegro": "with SDK"}
# Playwright 1.x's own --disable-features list (chromiumSwitches in playwright-core), repeated
# because Chromium honours only the last --disable-features, plus Chromium 156's WebUI preloads.
DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,"
    "OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,"
    "PreloadTopChromeWebUI,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup,WebUIOmniboxPopup"
)

# Runs before any script of every document in the context.
RECORDER = """
(() => {
  const bench = window.__bench = { sdkRuns: [], acknowledged: null, problems: [] };
  try {
    new PerformanceObserver((list) => {
      for (const frame of list.getEntries()) {
        for (const script of frame.scripts || []) {
          if ((script.sourceURL || '').includes('SDK_URL_PART')) {
            bench.sdkRuns.push([script.startTime,
              script.duration + (script.forcedStyleAndLayoutDuration || 0)]);
          }
        }
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch (error) {
    bench.problems.push('no long-animation-frame observer: ' + error);
  }
})();
""".replace("SDK_URL_PART", SDK_URL_PART)

COLLECT = """
async ([expectAck, timeoutMs, settleMs]) => {
  const bench = window.__bench;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const nav = () => performance.getEntriesByType('navigation')[0];
  const started = performance.now();
  while (!(nav() && nav().loadEventEnd > 0) || (expectAck && window.__acknowledged === undefined)) {
    if (performance.now() - started > timeoutMs) return { timeout: true, problems: bench.problems };
    await sleep(20);
  }
  await sleep(settleMs);
  return {
    timeout: false,
    dcl: nav().domContentLoadedEventEnd,
    load: nav().loadEventEnd,
    acknowledged: window.__acknowledged === undefined ? null : window.__acknowledged,
    sdkRuns: bench.sdkRuns,
    problems: bench.problems,
  };
}
"""

WAIT_ACK = """
async (timeoutMs) => {
  const started = performance.now();
  while (window.__acknowledged === undefined && performance.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return window.__acknowledged === undefined ? null : window.__acknowledged;
}
"""

# The publisher's snippet: queue a page_view and note when the collector acknowledged it.
SNIPPET = (
    "<script>window.allegro = window.allegro || [];"
    "allegro.push(function (a) { a.track('page_view').then("
    "function () { window.__acknowledged = performance.now(); },"
    "function (e) { window.__acknowledged = -1; console.error(String(e)); }); });</script>\n"
)

WORDS = tuple(
    " ".join(
        (
            "the council met on tuesday to discuss the budget for next year and the plans for the",
            "new library which residents have asked about for a decade while the river rose again",
            "after heavy rain across the valley and farmers said the harvest would be late",
        )
    ).split(" ")
)


def article_halves(collector_url: str, with_sdk: bool) -> tuple[bytes, bytes]:
    """The article's HTML in two halves (deterministic text, so both pages are byte-equal but
    for the SDK's two scripts)."""
    head = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Valley council approves the library budget</title>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta property='og:type' content='article'>",
        "<meta property='og:title' content='Valley council approves the library budget'>",
        "<meta property='og:url' content='https://news.example/valley/library-budget'>",
        "<meta property='article:published_time' content='2026-11-20T08:00:00Z'>",
        "<meta property='article:section' content='Local'>",
        "<link rel='canonical' href='https://news.example/valley/library-budget'>",
        '<script type="application/ld+json">{"@context":"https://schema.org",'
        '"@type":"NewsArticle","headline":"Valley council approves the library budget",'
        '"datePublished":"2026-11-20T08:00:00Z","author":{"@type":"Person","name":"A. Writer"},'
        '"articleSection":"Local","wordCount":25000}</script>',
        "<style>body{font:18px/1.5 Georgia,serif;max-width:42em;margin:auto}</style>",
    ]
    if with_sdk:
        head.append(SNIPPET)
        head.append(f'<script async src="/static/allegro.js" data-collector="{collector_url}">')
        head.append("</script>")
    head.append("</head><body><article><h1>Valley council approves the library budget</h1>")
    paragraphs = []
    for index in range(ARTICLE_PARAGRAPHS):
        words = [WORDS[(index * 7 + k * 3) % len(WORDS)] for k in range(130)]
        paragraphs.append(f"<p id='p{index}'>{' '.join(words).capitalize()}.</p>")
    half = len(paragraphs) // 2
    first = "\n".join(head + paragraphs[:half]) + "\n"
    second = "\n".join([*paragraphs[half:], "</article></body></html>"]) + "\n"
    return first.encode(), second.encode()


def site(collector_url: str, bundle_dir: Path) -> Callable[[Scope, Receive, Send], Any]:
    """The article pages (streamed in two halves) and the SDK's script files (brotli when the
    browser accepts it, cacheable for 5 minutes, as a CDN would serve them)."""
    pages = {path: article_halves(collector_url, name == "allegro") for name, path in PAGES}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path in pages:
            first, second = pages[path]
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": first, "more_body": True})
            await asyncio.sleep(HALF_DELAY_S)
            await send({"type": "http.response.body", "body": second})
            return
        if path == "/favicon.ico":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        name = path.removeprefix("/static/")
        file = bundle_dir / name
        if not path.startswith("/static/") or "/" in name or not file.is_file():
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not found"})
            return
        accept = dict(scope["headers"]).get(b"accept-encoding", b"")
        headers = [
            (b"content-type", b"text/javascript; charset=utf-8"),
            (b"cache-control", b"public, max-age=300"),
            (b"vary", b"accept-encoding"),
        ]
        body = file.read_bytes()
        compressed = file.with_name(file.name + ".br")
        if b"br" in accept and compressed.is_file():
            body = compressed.read_bytes()
            headers.append((b"content-encoding", b"br"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


# --- the bundle's files -----------------------------------------------------------------------


HASHED_COPY = re.compile(r"allegro\.[0-9a-f]{16}\.js")


@dataclass(frozen=True)
class SdkFiles:
    """A copy of every script file of the SDK, taken at the start (a rebuild during the run
    cannot mix two builds), with their sizes summed."""

    directory: Path
    names: list[str]
    raw: int
    gzip: int
    brotli: int


def snapshot(bundle: Path, into: Path) -> SdkFiles:
    into.mkdir()
    # allegro.debug.js is the same SDK with line numbers, and allegro.<hash>.js the same bytes
    # under the name the collector serves (docs/build.md): each is loaded instead of allegro.js,
    # never beside it, so neither is counted.
    names = sorted(
        p.name
        for p in bundle.parent.glob("allegro*.js")
        if p.is_file() and not p.name.endswith(".debug.js") and not HASHED_COPY.fullmatch(p.name)
    )
    if bundle.name not in names:
        raise BenchmarkError(f"{shown(bundle)} is missing: run make build first")
    raw = gz = br = 0
    for name in names:
        data = (bundle.parent / name).read_bytes()
        (into / name).write_bytes(data)
        compressed = brotli.compress(data, quality=11)
        (into / (name + ".br")).write_bytes(compressed)
        raw += len(data)
        gz += len(gzip.compress(data, compresslevel=9, mtime=0))
        br += len(compressed)
    return SdkFiles(into, names, raw, gz, br)


# --- loads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    page: str
    mode: str
    dcl: float
    load: float
    acknowledged: float | None
    sdk_runs: list[tuple[float, float]] = field(default_factory=list)

    @property
    def longest(self) -> float:
        return max((duration for _, duration in self.sdk_runs), default=0.0)

    @property
    def total(self) -> float:
        return sum(duration for _, duration in self.sdk_runs)

    @property
    def over_50(self) -> int:
        return sum(1 for _, duration in self.sdk_runs if duration > LONG_RUN_MS)


def new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context()
    context.add_init_script(RECORDER)
    return context


def throttle(page: Page, rate: int) -> CDPSession | None:
    if rate == 1:
        return None
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return cdp


def measure(page: Page, name: str, mode: str, problems: Problems) -> Run:
    data: dict[str, Any] = page.evaluate(COLLECT, [name == "allegro", LOAD_TIMEOUT_MS, SETTLE_MS])
    for problem in data.get("problems", []):
        problems.add(f"{name}: {problem}")
    if data["timeout"]:
        raise BenchmarkError(
            f"{name} ({mode}): no load or acknowledgement within {LOAD_TIMEOUT_MS} ms; "
            f"problems so far: {problems.seen}"
        )
    if data["acknowledged"] is not None and data["acknowledged"] < 0:
        raise BenchmarkError(f"{name} ({mode}): track('page_view') was rejected")
    return Run(
        page=name,
        mode=mode,
        dcl=float(data["dcl"]),
        load=float(data["load"]),
        acknowledged=data["acknowledged"],
        sdk_runs=[(float(start), float(duration)) for start, duration in data["sdkRuns"]],
    )


def cold(browser: Browser, url: str, name: str, mode: str, rate: int, problems: Problems) -> Run:
    context = new_context(browser)
    try:
        page = context.new_page()
        problems.watch(page, name)
        throttle(page, rate)
        page.goto(url, wait_until="load")
        return measure(page, name, mode, problems)
    finally:
        context.close()


def abba(index: int) -> Sequence[tuple[str, str]]:
    return PAGES if index % 2 == 0 else tuple(reversed(PAGES))


def run_mode(
    browser: Browser,
    base_url: str,
    runs: int,
    rate: int,
    problems: Problems,
    progress: Callable[[str], None],
) -> list[Run]:
    suffix = "" if rate == 1 else f", {rate}x"
    results: list[Run] = []
    for index in range(runs):
        for name, path in abba(index):
            results.append(cold(browser, base_url + path, name, "cold" + suffix, rate, problems))
    progress(f"cold{suffix}: {runs} loads per page")
    contexts: dict[str, Page] = {}
    try:
        for name, path in PAGES:
            page = new_context(browser).new_page()
            problems.watch(page, name)
            throttle(page, rate)
            contexts[name] = page
            page.goto(base_url + path, wait_until="load")
            measure(page, name, "prime", problems)  # untimed: fills the cache and the cookies
        for index in range(runs):
            for name, _ in abba(index):
                contexts[name].reload(wait_until="load")
                results.append(measure(contexts[name], name, "warm" + suffix, problems))
    finally:
        for page in contexts.values():
            page.context.close()
    progress(f"warm{suffix}: {runs} loads per page")
    return results


# --- the SDK's total main-thread time (CPU profile) ----------------------------------------


def sdk_profile_ms(profile: dict[str, Any]) -> float:
    """Time of the samples whose stack holds a frame of an SDK script file."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent: dict[int, int] = {}
    for node in profile["nodes"]:
        for child in node.get("children", []):
            parent[child] = node["id"]
    ours: dict[int, bool] = {}

    def is_ours(node_id: int) -> bool:
        chain = []
        current: int | None = node_id
        while current is not None and current not in ours:
            chain.append(current)
            current = parent.get(current)
        verdict = ours[current] if current is not None else False
        for item in reversed(chain):
            verdict = verdict or SDK_URL_PART in nodes[item]["callFrame"].get("url", "")
            ours[item] = verdict
        return ours[node_id]

    samples, deltas = profile.get("samples", []), profile.get("timeDeltas", [])
    total_us = 0
    # timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
    for index, sample in enumerate(samples[:-1]):
        if is_ours(sample):
            total_us += deltas[index + 1]
    return total_us / 1000


def profiled(
    browser: Browser, base_url: str, runs: int, problems: Problems
) -> dict[str, list[float]]:
    path = dict(PAGES)["allegro"]
    results: dict[str, list[float]] = {"cold": [], "warm": []}

    def one(page: Page, go: Callable[[], object]) -> float:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 100})
        cdp.send("Profiler.start")
        go()
        acknowledged = page.evaluate(WAIT_ACK, LOAD_TIMEOUT_MS)
        profile = cdp.send("Profiler.stop")["profile"]
        cdp.detach()
        if acknowledged is None or acknowledged < 0:
            raise BenchmarkError("profiled load: page_view was not acknowledged")
        return sdk_profile_ms(profile)

    for _ in range(runs):
        context = new_context(browser)
        try:
            page = context.new_page()
            problems.watch(page, "allegro")
            results["cold"].append(
                one(page, partial(page.goto, base_url + path, wait_until="commit"))
            )
        finally:
            context.close()
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(base_url + path, wait_until="load")
        page.evaluate(WAIT_ACK, LOAD_TIMEOUT_MS)
        for _ in range(runs):
            results["warm"].append(one(page, partial(page.reload, wait_until="commit")))
    finally:
        context.close()
    return results


# --- track() on a warm page -------------------------------------------------------------------

# Timed around the calls alone: what the page's task pays (the encoding, storing and sending that
# follow in later tasks are the SDK's own time, in the profile above). The page's clock is
# coarsened (100 us without cross-origin isolation), so each sample is a task of TRACK_BATCH
# calls, divided by TRACK_BATCH; the samples are tasks 20 ms apart.
TRACK_BATCH = 10
TIME_TRACK = """
async ([samples, batch]) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const times = [];
  for (let i = 0; i < samples; i++) {
    await sleep(20);
    const started = performance.now();
    for (let k = 0; k < batch; k++) {
      window.allegro.track('article_read', {content_id: 'a' + i, data: {depth: k}});
    }
    times.push((performance.now() - started) * 1000 / batch);
  }
  return times;
}
"""


def track_cost(browser: Browser, base_url: str, samples: int) -> tuple[list[float], float]:
    """Microseconds per `track()` call on a warm page (the SDK started, bundle from the cache),
    and the SDK's main-thread time per tracked event in every task (the calls, the later task
    that builds the events, encoding, storing, sending, the answers) from a CPU profile."""
    context = new_context(browser)
    try:
        page = context.new_page()
        path = dict(PAGES)["allegro"]
        page.goto(base_url + path, wait_until="load")
        page.evaluate(WAIT_ACK, LOAD_TIMEOUT_MS)
        page.reload(wait_until="load")
        page.evaluate(WAIT_ACK, LOAD_TIMEOUT_MS)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 100})
        cdp.send("Profiler.start")
        times: list[float] = page.evaluate(TIME_TRACK, [samples, TRACK_BATCH])
        page.evaluate(SETTLED, LOAD_TIMEOUT_MS)
        profile = cdp.send("Profiler.stop")["profile"]
        cdp.detach()
        per_event_us = sdk_profile_ms(profile) * 1000 / (samples * TRACK_BATCH)
        return times, per_event_us
    finally:
        context.close()


# Waits until every event the timed calls tracked is acknowledged (the outbox is empty).
SETTLED = """
async (timeoutMs) => {
  const deadline = performance.now() + timeoutMs;
  const waiting = () => Object.keys(localStorage).some((key) => key.startsWith('allegro_outbox:')
    && localStorage.getItem(key) !== '[]');
  while (waiting() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
"""


# --- the report -------------------------------------------------------------------------------


def summarise(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):,.0f} [{min(values):,.0f}{DASH}{max(values):,.0f}]"


def delta(runs: Sequence[Run], mode: str, read: Callable[[Run], float]) -> str:
    """The median with the SDK minus the median without it."""
    with_sdk = [read(r) for r in runs if r.mode == mode and r.page == "allegro"]
    without = [read(r) for r in runs if r.mode == mode and r.page == "baseline"]
    if not with_sdk or not without:
        return "-"
    return f"{statistics.median(with_sdk) - statistics.median(without):+,.0f}"


FIGURES: tuple[tuple[str, Callable[[Run], float | None]], ...] = (
    ("SDK's longest script run (ms)", lambda r: r.longest),
    ("SDK's script runs, total (ms)", lambda r: r.total),
    ("SDK's script runs over 50 ms (count)", lambda r: r.over_50),
    ("DOMContentLoaded end (ms)", lambda r: r.dcl),
    ("load end (ms)", lambda r: r.load),
    ("page_view acknowledged (ms)", lambda r: r.acknowledged),
    (
        "page_view acknowledged after DCL (ms)",
        lambda r: None if r.acknowledged is None else r.acknowledged - r.dcl,
    ),
)
DELTAS: tuple[tuple[str, Callable[[Run], float]], ...] = (
    ("DCL, median with minus without (ms)", lambda r: r.dcl),
    ("load, median with minus without (ms)", lambda r: r.load),
)


def table(runs: Sequence[Run], modes: Sequence[str]) -> str:
    header = ["figure: median [min" + DASH + "max]"]
    columns = []
    for mode in modes:
        for name, _ in PAGES:
            count = sum(1 for r in runs if (r.page, r.mode) == (name, mode))
            header.append(f"{LABELS[name]}, {mode} (n={count})")
            columns.append((name, mode))
    rows = [header, ["---"] + ["---:"] * len(columns)]
    for label, read in FIGURES:
        row = [label]
        for name, mode in columns:
            values = [
                v for r in runs if (r.page, r.mode) == (name, mode) and (v := read(r)) is not None
            ]
            sdk_only = label.startswith(("SDK", "page_view"))
            row.append("-" if name == "baseline" and sdk_only else summarise(values))
        rows.append(row)
    for label, read in DELTAS:
        row = [label]
        for name, mode in columns:
            row.append(delta(runs, mode, read) if name == "allegro" else "")
        rows.append(row)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="loads per page and mode at 1x (15)")
    parser.add_argument(
        "--throttled-runs", type=int, default=7, help="loads per page and mode at 4x (7; 0: none)"
    )
    parser.add_argument(
        "--profile-runs", type=int, default=5, help="profiled loads, cold and warm (5; 0: none)"
    )
    parser.add_argument(
        "--track-samples",
        type=int,
        default=40,
        help=f"timed tasks of {TRACK_BATCH} track() calls, warm page (40; 0: none)",
    )
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="default static/allegro.js")
    parser.add_argument("--json", type=Path, help="also write every load's figures to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or min(args.throttled_runs, args.profile_runs, args.track_samples) < 0:
        parser.error("--runs must be at least 1, the others at least 0")
    return args


def launch(playwright: Any) -> Browser:
    browser: Browser = playwright.chromium.launch(
        executable_path=CHROMIUM_EXECUTABLE,
        args=[*CHROMIUM_ARGS, f"--disable-features={DISABLED_FEATURES}"],
    )
    return browser


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.monotonic()
    commit, load_start = git_commit(), os.getloadavg()
    admin_key = secrets.token_urlsafe(24)
    problems = Problems()
    runs: list[Run] = []
    profiles: dict[str, list[float]] = {}
    track_times: list[float] = []
    track_event_us = 0.0
    try:
        with tempfile.TemporaryDirectory(prefix="allegro-host-cost-") as tmp:
            files = snapshot(args.bundle.resolve(), Path(tmp) / "static")
            site_sock = free_socket()
            base_url = f"http://127.0.0.1:{site_sock.getsockname()[1]}"
            with (
                collector(Path(tmp), base_url, admin_key) as collector_url,
                serve_in_thread(site(collector_url, files.directory), site_sock),
                sync_playwright() as playwright,
            ):
                browser = launch(playwright)
                try:
                    version = browser.version
                    runs += run_mode(browser, base_url, args.runs, 1, problems, progress)
                    if args.throttled_runs:
                        runs += run_mode(
                            browser,
                            base_url,
                            args.throttled_runs,
                            THROTTLE_RATE,
                            problems,
                            progress,
                        )
                    if args.profile_runs:
                        profiles = profiled(browser, base_url, args.profile_runs, problems)
                        progress(f"profiled: {args.profile_runs} cold + {args.profile_runs} warm")
                    if args.track_samples:
                        track_times, track_event_us = track_cost(
                            browser, base_url, args.track_samples
                        )
                finally:
                    browser.close()
                stored = stored_page_views(collector_url, admin_key)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    load_end = os.getloadavg()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"allegro host-cost benchmark, {now}, commit {commit}, Chromium {version} headless "
        f"without the WebUI preload, {os.cpu_count()} CPUs, load average "
        f"{load_start[0]:.2f} at start, {load_end[0]:.2f} at the end "
        f"({time.monotonic() - started:.0f} s)"
    )
    print()
    print(table(runs, ["cold", "warm"]))
    if args.throttled_runs:
        print()
        print(table(runs, [f"cold, {THROTTLE_RATE}x", f"warm, {THROTTLE_RATE}x"]))
    if profiles:
        print()
        print("| SDK's main-thread time, navigation to page_view acknowledged (CPU profile) | ms |")
        print("|---|---:|")
        for mode, values in profiles.items():
            print(f"| {mode} (n={len(values)}) | {summarise(values)} |")
    if track_times:
        print()
        print(
            f"track() on a warm page, us per call ({len(track_times)} tasks of {TRACK_BATCH} "
            f"calls): median {statistics.median(track_times):.0f}, "
            f"range {min(track_times):.0f}{DASH}{max(track_times):.0f}"
        )
        print(
            "the SDK's main-thread time per tracked event, all tasks (CPU profile of the same "
            f"calls until every event was acknowledged): {track_event_us:,.0f} us"
        )
    print()
    print(f"| SDK script files ({', '.join(files.names)}) | bytes |")
    print("|---|---:|")
    print(f"| raw | {files.raw:,} |")
    print(f"| gzip -9 | {files.gzip:,} |")
    print(f"| brotli -11 | {files.brotli:,} |")
    print()
    timed = sum(1 for r in runs if r.page == "allegro")
    primes = 1 if not args.throttled_runs else 2  # the untimed first warm load, with the SDK
    expected = timed + primes + 2 * args.profile_runs + (1 if args.profile_runs else 0)
    expected += 2 if args.track_samples else 0  # the track() page's two page_views
    print(f"collector stored {stored} page_view events (expected {expected})")
    if problems.seen:
        print("problems seen on the pages (count):")
        for text, count in problems.seen.items():
            print(f"  {count} x {text}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1), "utf-8")
    if stored != expected:
        print("error: the collector did not store one page_view per SDK load", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
