"""The example of docs/testing-your-site.md, run as a site would run it: its pytest test and its
@playwright/test test, each in a process of its own, against the micro collector."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from browser_support import CHROMIUM_EXECUTABLE

from tests.collector.test_cli import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "checkout"
DOC = ROOT / "docs" / "testing-your-site.md"
PLAYWRIGHT = ROOT / "node_modules" / ".bin" / "playwright"


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLEGRO_", "PYTEST_"))}
    # The virtualenv's `python` and `allegro-collector` first, as in an activated virtualenv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CHROMIUM_PATH"] = CHROMIUM_EXECUTABLE
    return env


def run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        command, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_the_python_example_passes() -> None:
    output = run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "."], environment()
    )
    assert re.search(r"^1 passed", output, re.M), output


def test_the_javascript_example_passes() -> None:
    assert PLAYWRIGHT.exists(), "node_modules is missing: run `make test` (it runs npm ci)"
    env = environment()
    env.update(ALLEGRO_MICRO_PORT=str(free_port()), SITE_PORT=str(free_port()), CI="1")
    output = run([str(PLAYWRIGHT), "test", "--config", "playwright.config.ts"], env)
    assert re.search(r"^\s*1 passed", output, re.M), output


def test_the_doc_shows_the_example_files_as_they_are() -> None:
    doc = DOC.read_text("utf-8")
    for name in (
        "checkout.html",
        "conftest.py",
        "test_checkout.py",
        "checkout.spec.ts",
        "playwright.config.ts",
    ):
        assert (EXAMPLE / name).read_text("utf-8") in doc, f"{name} differs from the doc's copy"
