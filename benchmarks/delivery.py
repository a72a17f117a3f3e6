"""How fast tracked events reach the collector: throughput batched and unbatched, and latency.

Usage: .venv/bin/python -m benchmarks.delivery [--runs N] [--events N] [--latency-events N]
       [--requests-per-page N] [--bundle PATH]

Starts a real collector (allegro_collector's app, uvicorn in a thread, a temporary SQLite file with
its production settings: WAL, one fsync per batch) and a host page at the demo site's origin (the
demo site's app, so /static/allegro.js is the built bundle, plus one route answering a tiny page
with the snippet, the SDK tag and the demo site's strict CSP, its nonce fresh per response). Both
listen on free 127.0.0.1 ports. Then, in headless Chromium, per run a fresh browser context (empty
localStorage, no cookies); on every page load the SDK's start is awaited and one awaited
`allegro.track()` is sent untimed (so the session exists). Read inside the page with
performance.now():

- batched: `--events` calls of allegro.track() in one task, awaited together with Promise.all;
  from the first call until every promise resolved. The SDK sends them in the next task, at most
  100 per request, one request in flight at a time, so 500 events are 5 POSTs.
- unbatched: the same number of events, each call awaited before the next is made, so every
  request carries one event (and pays its own fsync).
- latency: `--latency-events` single events on an idle page (a 20 ms pause before each call),
  each from the call to its promise resolving; median and p99 (nearest rank) per run.

Pages are not reused past `--requests-per-page` (default 100) one-event requests: the unbatched
and latency phases are timed in slices on fresh page loads, and their times summed or pooled (page
loads are not timed), so that one long-lived page's state does not weigh on the figures and they
stay comparable with earlier runs. A page itself has no such limit (tests/browser/test_delivery.py
sends 300 requests from one page).

A promise resolves when the collector has acknowledged the event, i.e. committed it. The
collector's app is wrapped to count the POST /v1/events requests of each phase and any answer
other than 200 (a retried request would be in the figures). At the end the collector's database
is read: every tracked event must be stored exactly once, under the event_id its promise resolved
with, and nothing else; otherwise the script fails. Prints median [min-max] over the runs.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allegro_collector.app import create_app as create_collector
from allegro_collector.settings import Settings
from allegro_collector.tokens import SigningKey
from allegro_sdk.core.protocol import BATCH_EVENTS, EVENTS_PATH
from demo_site.server import create_app as create_demo_site
from demo_site.server import csp
from tests.browser_support import CHROMIUM_ARGS, CHROMIUM_EXECUTABLE  # the tests' flags

ROOT = Path(__file__).resolve().parent.parent

BUNDLE = ROOT / "static" / "allegro.js"
PAGE_PATH = "/__delivery"
LATENCY_GAP_MS = 20
# The phases that send one event per request are spread over fresh page loads of at most this
# many requests each (see the module docstring).
REQUESTS_PER_PAGE = 100
READY_TIMEOUT_MS = 30_000
DASH = "\u2013"  # en dash, for ranges

# Runs before any script of every document in the context: CSP violations would mean the page
# is not what a publisher with a strict policy serves.
RECORDER = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""

READY = """
async (timeoutMs) => {
  const start = performance.now();
  while (!window.allegro || typeof window.allegro.track !== 'function') {
    if (performance.now() - start > timeoutMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
"""

WARM_UP = "async (name) => (await allegro.track(name)).event_id"

BATCHED = """
async (names) => {
  const start = performance.now();
  const promises = names.map((name) => allegro.track(name));
  const queued = performance.now();
  const results = await Promise.all(promises);
  const end = performance.now();
  return { queuedMs: queued - start, totalMs: end - start, ids: results.map((r) => r.event_id) };
}
"""

UNBATCHED = """
async (names) => {
  const ids = [];
  const start = performance.now();
  for (const name of names) ids.push((await allegro.track(name)).event_id);
  return { totalMs: performance.now() - start, ids };
}
"""

LATENCY = """
async ([names, gapMs]) => {
  const ids = [];
  const samples = [];
  for (const name of names) {
    await new Promise((resolve) => setTimeout(resolve, gapMs));
    const start = performance.now();
    const result = await allegro.track(name);
    samples.push(performance.now() - start);
    ids.push(result.event_id);
  }
  return { samples, ids };
}
"""


class BenchmarkError(RuntimeError):
    """Something in the setup, a run or the final check failed; the message says what."""


# --- servers ----------------------------------------------------------------------------------


@dataclass
class RequestCounter:
    """POST /v1/events requests seen by the collector, and answers other than 200."""

    posts: int = 0
    not_ok: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.posts, sum(self.not_ok.values())

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if not (
                scope["type"] == "http"
                and scope["method"] == "POST"
                and scope["path"] == EVENTS_PATH
            ):
                await app(scope, receive, send)
                return
            with self.lock:
                self.posts += 1

            async def send_counted(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] != 200:
                    with self.lock:
                        self.not_ok[int(message["status"])] += 1
                await send(message)

            await app(scope, receive, send_counted)

        return counted


def free_socket() -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, and
    # accepted connections inherit the listening socket's. With proto 0, uvicorn's two writes per
    # response (head, then body) meet Nagle and the client's delayed ACK: about 40 ms per request
    # on a reused connection, which uvicorn binding its own socket (the collector's CLI) never pays.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: ASGIApp, sock: socket.socket, name: str) -> Iterator[None]:
    """Serve `app` on `sock` in a thread (as tests/browser/conftest.py does), stop it after."""
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise BenchmarkError(f"the {name} did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def host_page(collector: str, nonce: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        "<title>Delivery benchmark</title>"
        f'<script nonce="{nonce}">window.allegro = window.allegro || [];</script>'
        f'<script async src="/static/allegro.js" data-collector="{collector}"></script>'
        "</head><body><p>delivery benchmark</p></body></html>"
    )


def site_app(collector: str, static_dir: Path) -> Starlette:
    """The demo site, plus PAGE_PATH: the tiny host page under the demo site's own CSP."""

    async def page(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(
            host_page(collector, nonce),
            headers={"Content-Security-Policy": csp(collector, nonce)},
        )

    return Starlette(
        routes=[Route(PAGE_PATH, page), Mount("/", create_demo_site(collector, static_dir))]
    )


# --- the runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    batched_ms: float
    batched_queued_ms: float
    batched_requests: int
    unbatched_ms: float
    unbatched_requests: int
    latency_median_ms: float
    latency_p99_ms: float
    latency_requests: int
    page_loads: int
    not_ok_answers: int
    events: int  # how many events each of the two throughput phases tracked

    @property
    def batched_rate(self) -> float:
        return self.events / (self.batched_ms / 1000)

    @property
    def unbatched_rate(self) -> float:
        return self.events / (self.unbatched_ms / 1000)


@dataclass
class Expected:
    """Every event tracked: its name (unique) and the event_id its promise resolved with."""

    ids: dict[str, str] = field(default_factory=dict)

    def add(self, names: Sequence[str], ids: Sequence[Any]) -> None:
        if len(ids) != len(names):
            raise BenchmarkError(f"{len(names)} events tracked but {len(ids)} ids came back")
        for name, event_id in zip(names, ids, strict=True):
            if not isinstance(event_id, str) or not event_id:
                raise BenchmarkError(f"track({name!r}) resolved without an event_id: {event_id!r}")
            self.ids[name] = event_id


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def brief(text: str) -> str:
    """A long message (a Brython traceback) as its first and last lines."""
    lines = text.strip().splitlines()
    if len(lines) <= 3:
        return " / ".join(lines)
    return f"{lines[0]} / ... {len(lines) - 2} lines ... / {lines[-1]}"


def chunks(names: list[str], size: int) -> list[list[str]]:
    return [names[start : start + size] for start in range(0, len(names), size)]


def one_run(
    browser: Browser,
    page_url: str,
    tag: str,
    args: argparse.Namespace,
    counter: RequestCounter,
    expected: Expected,
) -> Run:
    """One fresh browser context; each phase (and each slice of one) on a fresh page load."""
    events: int = args.events
    per_page: int = args.requests_per_page
    context = browser.new_context()
    context.add_init_script(RECORDER)
    problems: list[str] = []
    loads = 0
    step = "opening the page"
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(brief(f"page error: {error}")))
        page.on(
            "console",
            lambda message: (
                problems.append(brief(f"console {message.type}: {message.text}"))
                if message.type in ("error", "warning")
                else None
            ),
        )

        def open_page() -> None:
            """A fresh page load, the SDK started, and one untimed event acknowledged."""
            nonlocal loads
            if loads:
                violations: list[str] = page.evaluate("window.__violations")
                problems.extend(f"CSP violation: {v}" for v in violations)
            page.goto(page_url, wait_until="load")
            if not page.evaluate(READY, READY_TIMEOUT_MS):
                raise BenchmarkError(
                    f"window.allegro.track did not appear within {READY_TIMEOUT_MS} ms"
                )
            warm_up = f"{tag}_warmup_{loads}"
            expected.add([warm_up], [page.evaluate(WARM_UP, warm_up)])
            loads += 1

        def measured(script: str, arg: object, names: list[str]) -> tuple[dict[str, Any], int]:
            before, _ = counter.snapshot()
            result: dict[str, Any] = page.evaluate(script, arg)
            after, _ = counter.snapshot()
            expected.add(names, result["ids"])
            return result, after - before

        def phase(name: str, count: int) -> list[str]:
            return [f"{tag}_{name}_{n}" for n in range(count)]

        step = "batched"
        open_page()
        names = phase("batched", events)
        batched, batched_requests = measured(BATCHED, names, names)

        step = "unbatched"
        unbatched_ms, unbatched_requests = 0.0, 0
        for names in chunks(phase("unbatched", events), per_page):
            open_page()
            result, requests = measured(UNBATCHED, names, names)
            unbatched_ms += float(result["totalMs"])
            unbatched_requests += requests

        step = "latency"
        samples: list[float] = []
        latency_requests = 0
        for names in chunks(phase("latency", args.latency_events), per_page):
            open_page()
            result, requests = measured(LATENCY, [names, LATENCY_GAP_MS], names)
            samples.extend(float(sample) for sample in result["samples"])
            latency_requests += requests
        violations: list[str] = page.evaluate("window.__violations")
        problems.extend(f"CSP violation: {v}" for v in violations)
    except PlaywrightError as error:
        first_line = str(error).splitlines()[0] if str(error) else repr(error)
        raise BenchmarkError(
            f"{step} (page load {loads}): {first_line}"
            + ("\npage problems:\n  " + "\n  ".join(problems) if problems else "")
        ) from error
    finally:
        context.close()
    if problems:
        raise BenchmarkError("the page reported problems:\n  " + "\n  ".join(problems))
    return Run(
        batched_ms=float(batched["totalMs"]),
        batched_queued_ms=float(batched["queuedMs"]),
        batched_requests=batched_requests,
        unbatched_ms=unbatched_ms,
        unbatched_requests=unbatched_requests,
        latency_median_ms=statistics.median(samples),
        latency_p99_ms=nearest_rank(samples, 0.99),
        latency_requests=latency_requests,
        page_loads=loads,
        not_ok_answers=0,  # filled in by the caller, which sees the counter across the run
        events=events,
    )


def verify_stored(db_path: Path, expected: Expected) -> int:
    """Every tracked event stored once under the id it was acknowledged with, nothing else."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows: list[tuple[str, str]] = db.execute(
            "SELECT event_id, event_name FROM events"
        ).fetchall()
    finally:
        db.close()
    by_name = Counter(name for _, name in rows)
    stored_ids = {name: event_id for event_id, name in rows}
    missing = [name for name in expected.ids if name not in by_name]
    duplicated = {name: n for name, n in by_name.items() if n != 1}
    unexpected = [name for name in by_name if name not in expected.ids]
    wrong_id = [
        name
        for name, event_id in expected.ids.items()
        if name in stored_ids and stored_ids[name] != event_id
    ]
    if missing or duplicated or unexpected or wrong_id or len(rows) != len(expected.ids):
        raise BenchmarkError(
            f"the collector's database does not hold each tracked event exactly once: "
            f"{len(expected.ids)} tracked, {len(rows)} stored; missing {len(missing)} "
            f"(e.g. {missing[:3]}), stored more than once {len(duplicated)} "
            f"(e.g. {list(duplicated.items())[:3]}), not tracked {len(unexpected)} "
            f"(e.g. {unexpected[:3]}), under another event_id {len(wrong_id)} "
            f"(e.g. {wrong_id[:3]})"
        )
    return len(rows)


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    read: Callable[[Run], float]
    decimals: int


def figures(events: int, latency_events: int) -> tuple[Figure, ...]:
    return (
        Figure(
            f"batched: throughput ({events} in one task, events/s)", lambda r: r.batched_rate, 0
        ),
        Figure(f"batched: all {events} acknowledged (ms)", lambda r: r.batched_ms, 0),
        Figure(
            f"batched: the {events} track() calls returned (ms)", lambda r: r.batched_queued_ms, 0
        ),
        Figure("batched: POST /v1/events requests", lambda r: r.batched_requests, 0),
        Figure("unbatched: throughput (each awaited, events/s)", lambda r: r.unbatched_rate, 0),
        Figure(f"unbatched: all {events} acknowledged (ms)", lambda r: r.unbatched_ms, 0),
        Figure("unbatched: POST /v1/events requests", lambda r: r.unbatched_requests, 0),
        Figure(
            f"latency, idle page: median of {latency_events} (ms)",
            lambda r: r.latency_median_ms,
            1,
        ),
        Figure(f"latency, idle page: p99 of {latency_events} (ms)", lambda r: r.latency_p99_ms, 1),
        Figure("latency: POST /v1/events requests", lambda r: r.latency_requests, 0),
        Figure("page loads (untimed, each with one warm-up event)", lambda r: r.page_loads, 0),
        Figure("collector answers other than 200", lambda r: r.not_ok_answers, 0),
    )


def summarise(values: Sequence[float], decimals: int) -> str:
    median, low, high = statistics.median(values), min(values), max(values)
    return f"{median:,.{decimals}f} [{low:,.{decimals}f}{DASH}{high:,.{decimals}f}]"


def table(runs: Sequence[Run], events: int, latency_events: int) -> str:
    rows = [
        [f"figure (n={len(runs)} runs)", f"median [min{DASH}max]"],
        ["---", "---:"],
    ]
    for figure in figures(events, latency_events):
        rows.append([figure.label, summarise([figure.read(r) for r in runs], figure.decimals)])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def command_output(command: Sequence[str]) -> str:
    try:
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="browser contexts (default 5)")
    parser.add_argument(
        "--events", type=int, default=500, help="events per throughput phase (default 500)"
    )
    parser.add_argument(
        "--latency-events", type=int, default=100, help="single events timed per run (default 100)"
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=BUNDLE,
        help="the built SDK to serve (default static/allegro.js)",
    )
    parser.add_argument(
        "--requests-per-page",
        type=int,
        default=REQUESTS_PER_PAGE,
        help="most one-event requests timed on one page load before a fresh one "
        f"(default {REQUESTS_PER_PAGE}; see the module docstring)",
    )
    args = parser.parse_args(argv)
    if min(args.runs, args.events, args.latency_events, args.requests_per_page) < 1:
        parser.error("--runs, --events, --latency-events and --requests-per-page must be >= 1")
    if math.ceil(args.events / BATCH_EVENTS) > args.requests_per_page:
        parser.error("the batched phase would need more requests than --requests-per-page")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    bundle: Path = args.bundle.resolve()
    if not bundle.is_file():
        print(f"error: {bundle} is missing: run .venv/bin/python build/bundle.py", file=sys.stderr)
        return 2

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.monotonic()
    commit = command_output(["git", "rev-parse", "--short", "HEAD"])
    chromium = command_output([CHROMIUM_EXECUTABLE, "--version"])
    load_average = os.getloadavg()[0]
    tag = "bench_" + secrets.token_hex(3)
    counter = RequestCounter()
    expected = Expected()
    runs: list[Run] = []
    try:
        with tempfile.TemporaryDirectory(prefix="allegro-delivery-") as tmp:
            # A copy of the bundle, so a rebuild during the run cannot mix two builds.
            static_dir = Path(tmp) / "static"
            static_dir.mkdir()
            shutil.copyfile(bundle, static_dir / "allegro.js")
            bundle_hash = hashlib.sha256((static_dir / "allegro.js").read_bytes()).hexdigest()[:12]
            db_path = Path(tmp) / "events.sqlite3"
            site_sock, collector_sock = free_socket(), free_socket()
            site_url = f"http://127.0.0.1:{site_sock.getsockname()[1]}"
            collector_url = f"http://127.0.0.1:{collector_sock.getsockname()[1]}"
            settings = Settings(
                db_path=db_path,
                signing_key=SigningKey.from_secret(secrets.token_urlsafe(32)),
                allowed_origins=(site_url,),
                admin_key=secrets.token_urlsafe(24),
            )
            with (
                serve(counter.wrap(create_collector(settings)), collector_sock, "collector"),
                serve(site_app(collector_url, static_dir), site_sock, "demo site"),
                sync_playwright() as playwright,
            ):
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM_EXECUTABLE, args=list(CHROMIUM_ARGS)
                )
                try:
                    for index in range(args.runs):
                        _, not_ok_before = counter.snapshot()
                        run = one_run(
                            browser,
                            site_url + PAGE_PATH,
                            f"{tag}_r{index}",
                            args,
                            counter,
                            expected,
                        )
                        _, not_ok_after = counter.snapshot()
                        run = replace(run, not_ok_answers=not_ok_after - not_ok_before)
                        runs.append(run)
                        progress(
                            f"run {index + 1}/{args.runs}: batched {run.batched_rate:,.0f}/s, "
                            f"unbatched {run.unbatched_rate:,.0f}/s, latency median "
                            f"{run.latency_median_ms:.1f} ms, p99 {run.latency_p99_ms:.1f} ms"
                        )
                finally:
                    browser.close()
                stored = verify_stored(db_path, expected)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    print(
        f"allegro delivery benchmark: {args.runs} runs (a fresh browser context each), "
        f"{args.events} events per throughput phase, {args.latency_events} latency samples "
        f"per run ({time.monotonic() - started:.0f} s)"
    )
    print()
    print(table(runs, args.events, args.latency_events))
    print()
    print(
        f"machine: {os.cpu_count()} CPUs (load average {load_average:.2f} at start), "
        f"{chromium}, headless; commit {commit}; bundle sha256 {bundle_hash}"
    )
    print(
        f"collector stored {stored} events, each tracked event exactly once "
        f"(with the warm-up events; non-200 answers: {dict(counter.not_ok) or 'none'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
