"""The README and docs describe the project in its own words: nothing points outside the
repository (a clone has nothing beside it), and the ports `make demo` uses are named."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *ROOT.glob("tests/**/*.md")])


def test_no_doc_points_outside_the_repository() -> None:
    outside = re.compile(r"\.\./|/work/|/shared/")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in DOCS
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert found == []


def test_the_readme_names_the_demo_ports() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "COLLECTOR_PORT" in readme and "DEMO_PORT" in readme
