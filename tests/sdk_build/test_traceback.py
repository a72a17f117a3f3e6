"""An uncaught error at start: one `allegro:` line; in debug mode also a traceback naming each file
and function, and with the debug build (`--debug`) each line.

The build drops the column positions, the caret drawing and the source text that Brython's
tracebacks can show (docs/build.md); what remains must still say where the error happened.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_support import serve_directory
from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[2]

MAIN = """from browser import window


def divide(x):
    return 1 / x


def start():
    return divide(0)


window.console.log("started")
start()
"""

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><script src="{script}"></script></body></html>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("traceback")
    (directory / "main.py").write_text(MAIN, "utf-8")
    # the production build, and the debug build (`--debug`) that keeps line numbers
    for script, options in (("failing.js", []), ("failing.debug.js", ["--debug"])):
        build = subprocess.run(
            [
                sys.executable,
                str(ROOT / "build" / "bundle.py"),
                "--main",
                str(directory / "main.py"),
                "--out",
                str(directory / script),
                *options,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=90,
        )
        assert build.returncode == 0, f"building the failing page failed:\n{build.stderr}"
        page = "debug.html" if options else "index.html"
        (directory / page).write_text(PAGE.format(script=script), "utf-8")
    return directory


def load(site: Path, browser: Browser, query: str, page_name: str = "index.html") -> list[str]:
    """The console's messages once the start has failed."""
    with serve_directory(site, {}) as base_url:
        context = browser.new_context()
        try:
            page = context.new_page()
            messages: list[str] = []
            page.on("console", lambda message: messages.append(message.text))
            page.goto(f"{base_url}/{page_name}{query}")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not any("failed to start" in m for m in messages):
                time.sleep(0.05)
        finally:
            context.close()
    return messages


def test_an_error_at_start_is_one_line_without_a_traceback(site: Path, browser: Browser) -> None:
    messages = load(site, browser, "")
    assert messages == [
        "started",
        "allegro: the SDK failed to start (ZeroDivisionError: division by zero): events will not "
        "be tracked on this page; to see where, add data-debug to the SDK's script tag or "
        "?allegro_debug=1 to the page's address, and report it to the site's developers",
    ]


def test_in_debug_mode_the_error_names_files_and_functions(site: Path, browser: Browser) -> None:
    """The production build records no line: each frame names its file and function."""
    messages = load(site, browser, "?allegro_debug=1")
    traceback = next((m for m in messages if m.startswith("Traceback")), None)
    assert traceback is not None, messages
    assert traceback.splitlines() == [
        "Traceback (most recent call last):",
        '  File "__main__.py", in <module>',
        '  File "__main__.py", in start',
        '  File "__main__.py", in divide',
        "ZeroDivisionError: division by zero",
    ]
    assert messages[0] == "started"
    assert "allegro: the SDK failed to start" in messages[-1]


def test_the_debug_build_has_files_and_lines(site: Path, browser: Browser) -> None:
    messages = load(site, browser, "?allegro_debug=1", "debug.html")
    traceback = next((m for m in messages if m.startswith("Traceback")), None)
    assert traceback is not None, messages
    assert traceback.splitlines() == [
        "Traceback (most recent call last):",
        '  File "__main__.py", line 13, in <module>',
        '  File "__main__.py", line 9, in start',
        '  File "__main__.py", line 5, in divide',
        "ZeroDivisionError: division by zero",
    ]
    assert messages[0] == "started"
    assert "allegro: the SDK failed to start" in messages[-1]
