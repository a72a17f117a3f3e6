"""The Python-semantics self-test (build/selftest/brython_selftest.py), built like the SDK and run
through the stripped runtime in real headless Chromium under `script-src 'self'`.

A Brython upgrade or a build change that breaks the runtime fails here, with the failing checks
named. Checks known to diverge from CPython in stock Brython too are reported separately by the
page; one of them starting to pass fails this test, so that it can become a regular check.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser_support import serve_directory
from playwright.sync_api import Browser, ConsoleMessage

ROOT = Path(__file__).resolve().parents[2]
SELFTEST = ROOT / "build" / "selftest" / "brython_selftest.py"
CSP = "script-src 'self'"
MIN_PASSED = 35

PAGE = """<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>allegro selftest</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="marker" data-role="selftest"></div>
<script src="selftest.js"></script>
</body>
</html>
"""

# Runs before any script of the page: keeps every CSP violation where the test can read it.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile}:${event.lineNumber})`
  );
});
"""


@dataclass
class SelftestRun:
    results: dict[str, Any]
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("selftest")
    build = subprocess.run(
        [
            sys.executable,
            str(ROOT / "build" / "bundle.py"),
            "--main",
            str(SELFTEST),
            "--out",
            str(directory / "selftest.js"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )
    assert build.returncode == 0, f"building the self-test failed:\n{build.stdout}{build.stderr}"
    (directory / "index.html").write_text(PAGE, "utf-8")
    return directory


@pytest.fixture(scope="module")
def selftest_run(site: Path, browser: Browser) -> Iterator[SelftestRun]:
    with serve_directory(site, {"Content-Security-Policy": CSP}) as base_url:
        context = browser.new_context()
        try:
            page = context.new_page()
            run = SelftestRun(results={})

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error" or "Content Security Policy" in message.text:
                    run.console_errors.append(f"{message.type}: {message.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda error: run.page_errors.append(str(error)))
            page.add_init_script(RECORD_CSP_VIOLATIONS)
            response = page.goto(f"{base_url}/index.html")
            assert response is not None
            assert response.headers.get("content-security-policy") == CSP
            # A timeout is reported by the tests below, with whatever the page published.
            # (Polled with evaluate: wait_for_function evaluates a string, which the CSP forbids.)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not page.evaluate(
                "Boolean(window.brythonSelftest && window.brythonSelftest.done === true)"
            ):
                time.sleep(0.05)
            run.results = page.evaluate("window.brythonSelftest || null") or {}
            run.csp_violations = page.evaluate("window.__cspViolations")
            yield run
        finally:
            context.close()


def describe(failures: list[dict[str, str]]) -> str:
    return "\n".join(f"  {failure['name']}: {failure['error']}" for failure in failures)


def test_the_selftest_completes(selftest_run: SelftestRun) -> None:
    results = selftest_run.results
    assert results, (
        "the self-test published nothing (the runtime did not start?); "
        f"page errors: {selftest_run.page_errors}, console: {selftest_run.console_errors}"
    )
    assert results["done"] is True, f"asynchronous checks never reported: {results['pending']}"


def test_every_check_passes(selftest_run: SelftestRun) -> None:
    results = selftest_run.results
    failed = results.get("failed", [])
    assert not failed, f"{len(failed)} Python-semantics checks failed:\n{describe(failed)}"
    assert results.get("passed", 0) >= MIN_PASSED


def test_known_divergences_still_diverge(selftest_run: SelftestRun) -> None:
    fixed = selftest_run.results.get("unexpectedPasses", [])
    assert not fixed, (
        f"Brython now behaves like CPython for {fixed}: move these from the known divergences "
        "to the regular checks in build/selftest/brython_selftest.py"
    )


def test_no_errors_and_no_csp_violations(selftest_run: SelftestRun) -> None:
    assert selftest_run.page_errors == []
    assert selftest_run.console_errors == []
    assert selftest_run.csp_violations == []
