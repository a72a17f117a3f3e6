"""What the allegro SDK costs a page: the demo home page loaded with and without it, in Chromium.

Usage: .venv/bin/python -m benchmarks.load [--runs N] [--warm-runs M] [--bundle PATH] [--json FILE]
(`make bench` builds static/allegro.js, then runs this; see docs/performance.md.)

Starts its own collector (a subprocess on a free port, a temporary SQLite file) and the demo site
(uvicorn in a thread, on a free 127.0.0.1 port, pointing at that collector). The demo site is served
unchanged; in front of it one extra path, /__baseline, answers the same page with the same
Content-Security-Policy but without the SDK snippet and script tag.

Every figure is read inside the page, in milliseconds from navigation start (performance.now()),
by an init script (Playwright add_init_script, so nothing is injected into the HTML and the page's
CSP is untouched):

- queue drained: the function the page's snippet pushed onto `window.allegro` has returned, having
  been called by the SDK with its API object; that is, allegro.js was fetched, its Brython runtime
  started, `window.allegro` was replaced and `allegro.track('page_view')` was called and returned
  its Promise. The init script measures it by pre-creating the `window.allegro` array with a `push`
  that wraps each pushed function (the snippet keeps that array: `window.allegro || []`).
- page_view acknowledged: `#last-event` says "stored" (a MutationObserver on it), i.e. the
  collector answered the events POST and the Promise of track() resolved.
- DOMContentLoaded and load: domContentLoadedEventEnd and loadEventEnd of the navigation entry.
- allegro.js fetched: responseEnd of its Resource Timing entry.
- long tasks: PerformanceObserver 'longtask' entries (main-thread tasks over 50 ms), buffered:
  count, total, longest, and the total of those outside the SDK's start (ending before allegro.js
  arrived or beginning after the queue drained).
- script bytes: Resource Timing of the page's script resources (allegro.js, and demo.js on both):
  transferSize (bytes over the network, headers included; 0 from the HTTP cache) and
  encodedBodySize (the compressed body).

Cold: a fresh browser context (empty cache, no cookies, new connections) per run. Warm: one
context per page, loaded once untimed, then reloaded `--warm-runs` times. Runs alternate between
the two pages so that drift on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import brotli
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from allegro_sdk.core.protocol import EVENTS_PATH
from demo_site.server import create_app as create_demo_site
from demo_site.server import csp, template_environment
from tests.browser_support import CHROMIUM_ARGS, CHROMIUM_EXECUTABLE  # the tests' flags

ROOT = Path(__file__).resolve().parent.parent

STATIC = ROOT / "static"
BUNDLE = STATIC / "allegro.js"
BASELINE_PATH = "/__baseline"
SDK_PATH = "/static/allegro.js"
PAGES = (("baseline", BASELINE_PATH), ("allegro", "/"))
PAGE_LABELS = {"baseline": "without SDK", "allegro": "with SDK"}
LOAD_TIMEOUT_MS = 30_000
DASH = "\u2013"  # en dash, for ranges
WARM_TARGET_MS = 100  # docs/performance.md: the warm-load target for "queue drained"
SETTLE_MS = 150  # after load (and the acknowledgement), so late long-task entries are delivered

# Runs before any script of every document in the context (Playwright add_init_script).
RECORDER = """
(() => {
  const bench = window.__bench = {
    commandStart: null, commandEnd: null, acknowledged: null,
    longtasks: [], violations: [], problems: []
  };
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        bench.longtasks.push([entry.startTime, entry.duration]);
      }
    }).observe({ type: 'longtask', buffered: true });
  } catch (error) {
    bench.problems.push('no longtask observer: ' + error);
  }
  document.addEventListener('securitypolicyviolation', (event) => {
    bench.violations.push(event.violatedDirective + ' ' + event.blockedURI);
  });
  // The snippet does `window.allegro = window.allegro || []`, so it keeps this array; the SDK
  // later drains it and calls the wrapper, which times the pushed function.
  const queue = [];
  queue.push = function (...commands) {
    return Array.prototype.push.apply(this, commands.map((command) => {
      if (typeof command !== 'function') return command;
      return function (...args) {
        if (bench.commandStart === null) bench.commandStart = performance.now();
        try {
          return command.apply(this, args);
        } finally {
          bench.commandEnd = performance.now();
        }
      };
    }));
  };
  window.allegro = queue;
  document.addEventListener('DOMContentLoaded', () => {
    const target = document.getElementById('last-event');
    if (!target) return;
    const check = () => {
      if (bench.acknowledged === null && target.textContent.includes('stored')) {
        bench.acknowledged = performance.now();
        observer.disconnect();
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(target, { subtree: true, childList: true, characterData: true });
    check();
  });
})();
"""

# Evaluated after Playwright's own load wait: waits for load (and the acknowledgement on the SDK
# page), lets late entries arrive, then reads everything from the page's own clocks.
COLLECT = """
async ([expectAck, timeoutMs, settleMs, sdkPath]) => {
  const bench = window.__bench;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const nav = () => performance.getEntriesByType('navigation')[0];
  const started = performance.now();
  while (!(nav() && nav().loadEventEnd > 0) || (expectAck && bench.acknowledged === null)) {
    if (performance.now() - started > timeoutMs) {
      return { timeout: true, text: (document.getElementById('last-event') || {}).textContent };
    }
    await sleep(20);
  }
  await sleep(settleMs);
  const scripts = performance.getEntriesByType('resource')
    .filter((entry) => entry.initiatorType === 'script');
  const sdk = scripts.find((entry) => new URL(entry.name).pathname === sdkPath) || null;
  return {
    timeout: false,
    dcl: nav().domContentLoadedEventEnd,
    load: nav().loadEventEnd,
    scriptTransfer: scripts.reduce((sum, entry) => sum + entry.transferSize, 0),
    scriptEncoded: scripts.reduce((sum, entry) => sum + entry.encodedBodySize, 0),
    sdkResponseEnd: sdk ? sdk.responseEnd : null,
    sdkEncoded: sdk ? sdk.encodedBodySize : null,
    commandStart: bench.commandStart,
    commandEnd: bench.commandEnd,
    acknowledged: bench.acknowledged,
    longtasks: bench.longtasks,
    violations: bench.violations,
    problems: bench.problems,
  };
}
"""


@dataclass(frozen=True)
class Run:
    """One page load, as measured inside the page (ms from navigation start, bytes)."""

    page: str
    mode: str
    script_transfer: int
    script_encoded: int
    sdk_fetched: float | None
    queue_drained: float | None
    acknowledged: float | None
    dcl: float
    load: float
    longtask_count: int
    longtask_total: float
    longtask_max: float
    # Long tasks that end before allegro.js arrived or begin after the queue drained (all of
    # them on the page without the SDK): what the page pays beyond the SDK's start.
    longtask_outside_start: float
    longtasks: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Figure:
    label: str
    read: Callable[[Run], float | None]


FIGURES = (
    Figure("script bytes transferred (B)", lambda r: r.script_transfer),
    Figure("script bytes, encoded body (B)", lambda r: r.script_encoded),
    Figure("allegro.js fetched (ms)", lambda r: r.sdk_fetched),
    Figure("queue drained (ms)", lambda r: r.queue_drained),
    Figure("page_view acknowledged (ms)", lambda r: r.acknowledged),
    Figure("DOMContentLoaded end (ms)", lambda r: r.dcl),
    Figure("load end (ms)", lambda r: r.load),
    Figure("long tasks (count)", lambda r: r.longtask_count),
    Figure("long tasks total (ms)", lambda r: r.longtask_total),
    Figure("longest task (ms)", lambda r: r.longtask_max),
    Figure("long tasks outside the SDK's start (ms)", lambda r: r.longtask_outside_start),
)


class BenchmarkError(RuntimeError):
    """Something in the setup or a page load failed; the message says what."""


# --- servers ----------------------------------------------------------------------------------


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


def baseline_html(collector: str, nonce: str) -> str:
    """The demo home page with its SDK snippet and SDK script tag removed (the page's JSON-LD and
    its own demo.js stay, so both pages differ only by the SDK)."""
    html = template_environment().get_template("home.html").render(collector=collector, nonce=nonce)
    kept: list[str] = []
    removed = 0
    rest = html
    while (start := rest.find("<script")) != -1:
        end = rest.find("</script>", start)
        if end == -1:
            raise BenchmarkError("demo_site/templates/home.html has an unclosed <script>")
        end += len("</script>")
        element = rest[start:end]
        if "allegro.track" in element or "allegro.js" in element:
            kept.append(rest[:start].rstrip(" "))
            rest = rest[end:].lstrip("\n")
            removed += 1
        else:
            kept.append(rest[:end])
            rest = rest[end:]
    kept.append(rest)
    stripped = "".join(kept)
    if removed != 2 or "allegro.js" in stripped or "allegro.track" in stripped:
        raise BenchmarkError(
            f"expected the demo page to hold one snippet and one SDK tag, removed {removed} "
            "script elements: update baseline_html() in benchmarks/load.py"
        )
    return stripped


def site_with_baseline(collector: str, static_dir: Path) -> ASGIApp:
    """The unmodified demo site, plus BASELINE_PATH answered the same way minus the SDK."""
    site = create_demo_site(collector, static_dir)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == BASELINE_PATH:
            nonce = secrets.token_urlsafe(16)
            response = HTMLResponse(
                baseline_html(collector, nonce),
                headers={"Content-Security-Policy": csp(collector, nonce)},
            )
            await response(scope, receive, send)
        else:
            await site(scope, receive, send)

    return app


@contextmanager
def serve_in_thread(app: ASGIApp, sock: socket.socket) -> Iterator[None]:
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="demo-site", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise BenchmarkError("the demo site did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            raise BenchmarkError(
                f"the collector exited with code {process.returncode}:\n{log.read_text('utf-8')}"
            )
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchmarkError(f"the collector did not become healthy:\n{log.read_text('utf-8')}")
        time.sleep(0.05)


@contextmanager
def collector(workdir: Path, site_origin: str, admin_key: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "collector.log"
    env = {
        **os.environ,
        "ALLEGRO_SECRET": secrets.token_urlsafe(32),
        "ALLEGRO_ADMIN_KEY": admin_key,
    }
    command = [
        sys.executable,
        "-m",
        "allegro_collector",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(workdir / "events.sqlite3"),
        "--allow-origin",
        site_origin,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stored_page_views(collector_url: str, admin_key: str) -> int:
    request = urllib.request.Request(
        f"{collector_url}{EVENTS_PATH}?limit=1000",
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        events: list[dict[str, Any]] = json.load(response)["events"]
    return sum(1 for event in events if event.get("event_name") == "page_view")


# --- the browser ------------------------------------------------------------------------------


@dataclass
class Problems:
    """Console errors, uncaught errors and CSP violations seen on any page, reported at the end."""

    seen: dict[str, int] = field(default_factory=dict)

    def add(self, text: str) -> None:
        self.seen[text] = self.seen.get(text, 0) + 1

    def watch(self, page: Page, name: str) -> None:
        page.on(
            "console",
            lambda message: (
                self.add(f"{name}: console.{message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: self.add(f"{name}: uncaught: {error}"))


def new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context()
    context.add_init_script(RECORDER)
    return context


def outside_start(
    longtasks: Sequence[tuple[float, float]], fetched: float | None, drained: float | None
) -> float:
    """Total duration of the long tasks that are not the SDK's start (allegro.js arriving, its
    runtime starting, the queue draining)."""
    if fetched is None or drained is None:
        return sum(duration for _, duration in longtasks)
    return sum(
        duration for start, duration in longtasks if start + duration < fetched or start > drained
    )


def measure(page: Page, name: str, mode: str, problems: Problems) -> Run:
    data: dict[str, Any] = page.evaluate(
        COLLECT, [name == "allegro", LOAD_TIMEOUT_MS, SETTLE_MS, SDK_PATH]
    )
    if data["timeout"]:
        raise BenchmarkError(
            f"{name} ({mode}): no load/acknowledgement within {LOAD_TIMEOUT_MS} ms; "
            f"#last-event says {data.get('text')!r}; problems so far: {problems.seen}"
        )
    for violation in data["violations"]:
        problems.add(f"{name}: CSP violation: {violation}")
    for problem in data["problems"]:
        problems.add(f"{name}: {problem}")
    longtasks = [(float(start), float(duration)) for start, duration in data["longtasks"]]
    durations = [duration for _, duration in longtasks]
    return Run(
        page=name,
        mode=mode,
        script_transfer=int(data["scriptTransfer"]),
        script_encoded=int(data["scriptEncoded"]),
        sdk_fetched=data["sdkResponseEnd"],
        queue_drained=data["commandEnd"],
        acknowledged=data["acknowledged"],
        dcl=float(data["dcl"]),
        load=float(data["load"]),
        longtask_count=len(durations),
        longtask_total=sum(durations),
        longtask_max=max(durations, default=0.0),
        longtask_outside_start=outside_start(longtasks, data["sdkResponseEnd"], data["commandEnd"]),
        longtasks=longtasks,
    )


def cold_run(browser: Browser, base_url: str, name: str, path: str, problems: Problems) -> Run:
    context = new_context(browser)
    try:
        page = context.new_page()
        problems.watch(page, name)
        page.goto(base_url + path, wait_until="load")
        return measure(page, name, "cold", problems)
    finally:
        context.close()


def run_all(
    browser: Browser, base_url: str, cold_runs: int, warm_runs: int, progress: Callable[[str], None]
) -> list[Run]:
    problems = Problems()
    runs: list[Run] = []
    for index in range(cold_runs):
        for name, path in PAGES:
            runs.append(cold_run(browser, base_url, name, path, problems))
        progress(f"cold {index + 1}/{cold_runs}")
    contexts: dict[str, tuple[BrowserContext, Page]] = {}
    try:
        for name, path in PAGES:
            context = new_context(browser)
            page = context.new_page()
            problems.watch(page, name)
            contexts[name] = (context, page)
            page.goto(base_url + path, wait_until="load")
            measure(page, name, "prime", problems)  # untimed: fills the cache and the cookies
        for index in range(warm_runs):
            for name, _ in PAGES:
                page = contexts[name][1]
                page.reload(wait_until="load")
                runs.append(measure(page, name, "warm", problems))
            if (index + 1) % 7 == 0 or index + 1 == warm_runs:
                progress(f"warm {index + 1}/{warm_runs}")
    finally:
        for context, _ in contexts.values():
            context.close()
    if problems.seen:
        progress("problems seen on the pages (count):")
        for text, count in problems.seen.items():
            progress(f"  {count} x {text}")
    return runs


# --- the report -------------------------------------------------------------------------------


def summarise(values: Sequence[float]) -> str:
    """Median [min-max], rounded to whole ms or bytes."""
    if not values:
        return "-"
    median, low, high = statistics.median(values), min(values), max(values)
    return f"{median:,.0f} [{low:,.0f}{DASH}{high:,.0f}]"


def table(runs: Sequence[Run]) -> str:
    columns = [(name, mode) for name, _ in PAGES for mode in ("cold", "warm")]
    counts = {c: sum(1 for r in runs if (r.page, r.mode) == c) for c in columns}
    header = [f"figure: median [min{DASH}max]"] + [
        f"{PAGE_LABELS[name]}, {mode} (n={counts[(name, mode)]})" for name, mode in columns
    ]
    rows = [header, ["---"] + ["---:"] * len(columns)]
    for figure in FIGURES:
        row = [figure.label]
        for name, mode in columns:
            values = [
                v
                for r in runs
                if (r.page, r.mode) == (name, mode) and (v := figure.read(r)) is not None
            ]
            row.append(summarise(values))
        rows.append(row)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


@dataclass(frozen=True)
class Bundle:
    """A copy of the built SDK taken at the start, which is what the browser is served."""

    source: Path
    directory: Path
    raw: int
    gzip: int | None
    brotli: int | None
    sha256: str


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def snapshot_bundle(source: Path, into: Path) -> Bundle:
    """Copy the bundle and its .gz/.br twins (built next to it), checking they are one build.

    The copy keeps a rebuild during the run from mixing two builds into one table.
    """
    into.mkdir()
    for _ in range(5):
        raw = source.read_bytes()
        sizes: dict[str, int | None] = {}
        consistent = True
        for suffix, decompress in ((".gz", gzip.decompress), (".br", brotli.decompress)):
            twin = source.with_name(source.name + suffix)
            target = into / f"allegro.js{suffix}"
            target.unlink(missing_ok=True)
            if not twin.is_file():
                sizes[suffix] = None
                continue
            data = twin.read_bytes()
            consistent = consistent and decompress(data) == raw
            target.write_bytes(data)
            sizes[suffix] = len(data)
        if consistent:
            (into / "allegro.js").write_bytes(raw)
            digest = hashlib.sha256(raw).hexdigest()[:12]
            return Bundle(source, into, len(raw), sizes[".gz"], sizes[".br"], digest)
        time.sleep(2)  # a build may be writing the files right now
    raise BenchmarkError(
        f"{shown(source)}.gz or .br does not decompress to {shown(source)} "
        "(a build in progress, or a stale file): run make build first"
    )


def bundle_table(bundle: Bundle) -> str:
    def size(value: int | None) -> str:
        return "missing" if value is None else f"{value:,}"

    name = shown(bundle.source)
    return "\n".join(
        [
            f"| bundle (sha256 {bundle.sha256}) | bytes |",
            "|---|---:|",
            f"| {name}, raw | {bundle.raw:,} |",
            f"| {name}.gz, gzip | {size(bundle.gzip)} |",
            f"| {name}.br, brotli | {size(bundle.brotli)} |",
        ]
    )


def git_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="cold loads per page (default 7)")
    parser.add_argument(
        "--warm-runs", type=int, default=None, help="warm reloads per page (default 3 x --runs)"
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=BUNDLE,
        help="the built SDK to serve, with its .gz/.br next to it (default static/allegro.js)",
    )
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    args = parser.parse_args(argv)
    if args.warm_runs is None:
        args.warm_runs = 3 * args.runs
    if args.runs < 1 or args.warm_runs < 1:
        parser.error("--runs and --warm-runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bundle_path: Path = args.bundle.resolve()
    if not bundle_path.is_file():
        print(f"error: {shown(bundle_path)} is missing: run make build first", file=sys.stderr)
        return 2

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.monotonic()
    commit, load_average = git_commit(), os.getloadavg()[0]
    admin_key = secrets.token_urlsafe(24)
    try:
        with tempfile.TemporaryDirectory(prefix="allegro-bench-") as tmp:
            bundle = snapshot_bundle(bundle_path, Path(tmp) / "static")
            site_sock = free_socket()
            base_url = f"http://127.0.0.1:{site_sock.getsockname()[1]}"
            with (
                collector(Path(tmp), base_url, admin_key) as collector_url,
                serve_in_thread(site_with_baseline(collector_url, bundle.directory), site_sock),
                sync_playwright() as playwright,
            ):
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM_EXECUTABLE, args=list(CHROMIUM_ARGS)
                )
                try:
                    version = browser.version
                    runs = run_all(browser, base_url, args.runs, args.warm_runs, progress)
                finally:
                    browser.close()
                stored = stored_page_views(collector_url, admin_key)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    expected = sum(1 for r in runs if r.page == "allegro") + 1  # + the untimed warm-up load
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"allegro load benchmark, {now}, commit {commit}, Chromium {version} headless, "
        f"{os.cpu_count()} CPUs (load average {load_average:.2f} at start), "
        f"{args.runs} cold + {args.warm_runs} warm loads per page "
        f"({time.monotonic() - started:.0f} s)"
    )
    print()
    print(table(runs))
    print()
    print(bundle_table(bundle))
    print()
    drained = [r.queue_drained for r in runs if r.mode == "warm" and r.queue_drained is not None]
    within = sum(1 for value in drained if value <= WARM_TARGET_MS)
    print(
        f"with SDK, warm: queue drained within {WARM_TARGET_MS} ms of navigation start "
        f"in {within} of {len(drained)} loads"
    )
    print(f"collector stored {stored} page_view events (expected {expected})")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1), "utf-8")
        print(f"every run: {args.json}")
    if stored != expected:
        print("error: the collector did not store one page_view per SDK load", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
