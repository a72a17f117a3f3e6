"""Pieces shared by the browser tests: headless Chromium, and a static server with real headers.

Usage from a test (tests/ is on sys.path when the test's directory is a package of tests/):

    from browser_support import launch_chromium, serve_directory

    with serve_directory(tmp_path, {"Content-Security-Policy": "script-src 'self'"}) as base_url:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            ...
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from playwright.sync_api import Browser, Playwright

CHROMIUM_EXECUTABLE = "/usr/bin/chromium"
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Chromium takes only the last --disable-features: Playwright's own list, then the omnibox
    # WebUI that Chromium 156 preloads in an extra busy renderer for every new context (it
    # competes with the page under test on a 2-core machine and inflates every timing).
    "--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,"
    "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,"
    "OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,"
    "msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion,"
    "PreloadTopChromeWebUI,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup,WebUIOmniboxPopup",
)


def launch_chromium(playwright: Playwright) -> Browser:
    """Headless system Chromium with the flags these tests always use; the caller closes it."""
    return playwright.chromium.launch(executable_path=CHROMIUM_EXECUTABLE, args=list(CHROMIUM_ARGS))


class _StaticHandler(SimpleHTTPRequestHandler):
    """Serves one directory, adds fixed headers to every response, logs nothing."""

    extra_headers: ClassVar[dict[str, str]] = {}

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(path: Path, headers: dict[str, str] | None = None) -> Iterator[str]:
    """Serve `path` on 127.0.0.1 (a free port) with `headers` on every response.

    Yields the base URL without a trailing slash, e.g. "http://127.0.0.1:41234"; the server
    is shut down when the block ends.
    """
    handler_class = type("StaticHandler", (_StaticHandler,), {"extra_headers": dict(headers or {})})
    handler = partial(handler_class, directory=str(path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="serve_directory", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
