"""The wheel, as a publisher gets it: `pip wheel .`, installed into a fresh virtualenv away from
the source tree; its `allegro-collector` prints the snippet and serves the SDK, and Chromium loads
the SDK from it with the printed `integrity` and sends a page_view that the collector stores.

Slow (a wheel build runs the SDK build; the install fetches the dependencies, from pip's cache
when it has them), so it is one module with one wheel and one virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_servers import free_socket, serve_in_thread
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "wheel-test-admin-key"
PACKAGED = "allegro_collector/sdk_static"
# Building the wheel runs the SDK build; installing it downloads the collector's dependencies.
pytestmark = pytest.mark.timeout(900)


@dataclass
class Installed:
    wheel: Path
    venv: Path
    workdir: Path  # outside the source tree: nothing of the checkout is importable from here

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return {**clean, "PATH": f"{self.bin}:{clean.get('PATH', '')}"}

    def run(self, *argv: str) -> str:
        result = subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    (wheel,) = dist.glob("allegro-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        cwd=base,
        check=True,
        timeout=600,
    )
    workdir = base / "site"
    workdir.mkdir()
    return Installed(wheel, venv, workdir)


def wheel_bundle(installed: Installed) -> tuple[set[str], dict[str, Any], bytes]:
    """The wheel's file names, its bundle's manifest and the bundle's bytes."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        manifest = json.loads(wheel.read(f"{PACKAGED}/manifest.json"))
        return (
            set(wheel.namelist()),
            manifest,
            wheel.read(f"{PACKAGED}/{manifest['file']}"),
        )


def test_the_wheel_carries_the_hashed_bundle_and_runs_outside_the_checkout(
    installed: Installed,
) -> None:
    names, manifest, bundle = wheel_bundle(installed)
    assert {f"{PACKAGED}/{manifest['file']}{suffix}" for suffix in ("", ".br", ".gz")} <= names
    assert f"{PACKAGED}/allegro.js" not in names  # only what the collector serves
    assert manifest["bytes"] == len(bundle)
    # The collector runs from the virtualenv, not from the checkout.
    where = installed.run(
        "python", "-c", "import allegro_collector; print(allegro_collector.__file__)"
    )
    assert Path(where.strip()).is_relative_to(installed.venv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Snippet:
    html: str
    csp: str


def parse_snippet(out: str) -> Snippet:
    html, _, rest = out.partition("\n\n")
    csp = next(line for line in rest.splitlines() if line.startswith("Content-Security-Policy:"))
    return Snippet(html, csp.removeprefix("Content-Security-Policy:").strip())


@pytest.fixture(scope="module")
def site_socket() -> Iterator[socket.socket]:
    """The publisher's site's socket, bound first: the collector allows its origin."""
    sock = free_socket()
    yield sock
    sock.close()


def origin_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def collector_url(installed: Installed, site_socket: socket.socket) -> Iterator[str]:
    """The wheel's collector, as its command starts it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**installed.env(), "ALLEGRO_ADMIN_KEY": ADMIN_KEY}
    site_origin = origin_of(site_socket)
    log = installed.workdir / "collector.log"
    with log.open("w") as stderr:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [
                str(installed.bin / "allegro-collector"),
                "serve",
                "--port",
                str(port),
                "--db",
                str(installed.workdir / "events.sqlite3"),
                "--allow-origin",
                site_origin,
            ],
            cwd=installed.workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the wheel's collector did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def site(site_socket: socket.socket) -> Iterator[dict[str, tuple[str, str]]]:
    """The publisher's site: each page is (html, Content-Security-Policy), served by a real server
    (Chromium keeps a page Playwright fulfils from reaching 127.0.0.1)."""
    pages: dict[str, tuple[str, str]] = {}

    def page(request: Request) -> HTMLResponse:
        html, csp = pages[request.path_params["name"]]
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    running = serve_in_thread(Starlette(routes=[Route("/{name}", page)]), site_socket)
    yield pages
    running.stop()


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>A publisher's page</title>
{snippet}
</head><body><h1>A publisher's page</h1></body></html>
"""


def test_chromium_loads_the_sdk_from_the_wheels_collector_with_the_printed_integrity(
    installed: Installed,
    collector_url: str,
    site: dict[str, tuple[str, str]],
    site_socket: socket.socket,
    browser: Browser,
) -> None:
    snippet = parse_snippet(
        installed.run("allegro-collector", "snippet", "--collector", collector_url)
    )
    assert re.search(r'integrity="sha384-[A-Za-z0-9+/]{64}"', snippet.html)
    # The site sends the policy the command printed, and nothing else may run.
    site["page"] = (
        PAGE.format(snippet=snippet.html),
        snippet.csp + "; default-src 'none'",
    )
    page_url = origin_of(site_socket) + "/page"
    context = browser.new_context()
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        sdk_answers: list[tuple[str, int, str | None]] = []
        page.on(
            "response",
            lambda r: (
                sdk_answers.append((r.url, r.status, r.headers.get("cache-control")))
                if "/sdk/" in r.url
                else None
            ),
        )
        page.goto(page_url)
        # Polled from here: wait_for_function evaluates a string, which the policy refuses.
        deadline = time.monotonic() + 30
        while not page.evaluate("!!window.allegro && typeof window.allegro.track === 'function'"):
            assert time.monotonic() < deadline, f"the SDK did not start: {problems}"
            page.wait_for_timeout(100)
        assert problems == []
        src = re.search(r'src="([^"]+)"', snippet.html)
        assert src is not None and src.group(1).startswith(collector_url + "/sdk/allegro.")
        assert sdk_answers == [(src.group(1), 200, "public, max-age=31536000, immutable")]
        admin = httpx.Client(
            base_url=collector_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        deadline = time.monotonic() + 30
        while True:
            events = admin.get("/v1/events", params={"limit": "10"}).json()["events"]
            if any(e["event_name"] == "page_view" and e["url"] == page_url for e in events):
                break
            assert time.monotonic() < deadline, f"no page_view of {page_url} stored: {events}"
            time.sleep(0.2)
        admin.close()
    finally:
        context.close()


def test_a_bundle_that_does_not_match_the_integrity_is_refused(
    installed: Installed,
    collector_url: str,
    site: dict[str, tuple[str, str]],
    site_socket: socket.socket,
    browser: Browser,
) -> None:
    """The control: Chromium does check the integrity (a wrong hash, and the SDK never runs)."""
    snippet = parse_snippet(
        installed.run("allegro-collector", "snippet", "--collector", collector_url)
    )
    wrong = "sha384-" + "A" * 64
    tampered = re.sub(r'integrity="[^"]+"', f'integrity="{wrong}"', snippet.html)
    site["tampered"] = (PAGE.format(snippet=tampered), snippet.csp)
    context = browser.new_context()
    try:
        page = context.new_page()
        with page.expect_event("console", lambda m: "integrity" in m.text, timeout=30_000):
            page.goto(origin_of(site_socket) + "/tampered")
        assert page.evaluate("Array.isArray(window.allegro)")  # still the snippet's queue
    finally:
        context.close()
