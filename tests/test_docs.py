"""Every repository path the README and the docs name exists, so they cannot drift from the code.

A path is a `code span` with a slash in it (`allegro_sdk/core/event.py`, `core/sender.py`,
`docs/`), a bare Python file name (`sender.py`), or a Markdown link to a file (`(member.md)`).
Short forms resolve against the folders the docs write them from: the root, docs/, allegro_sdk/
(`core/...`, `browser/...`), tests/ and demo_site/. A bare name after a path on the same line is
in that path's folder (`core/ids.py`, `json_encoding.py`); alone, it is anywhere. What git
ignores (`static/allegro.js`, made by the build) counts as there.

They also describe the project in their own words: nothing points outside the repository (a clone
has nothing beside it), and the ports `make demo` uses are named.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# Every Markdown file a clone reads, the tests' own notes (tests/real_pages/README.md) included.
ALL_DOCS = sorted([*DOCUMENTS, *ROOT.glob("tests/**/*.md")])
BASES = (ROOT, ROOT / "docs", ROOT / "allegro_sdk", ROOT / "tests", ROOT / "demo_site")
NAMED = re.compile(r"`([^`\s]+)`|\]\(([^)\s#:]+)(?:#[^)]*)?\)")
PATH = re.compile(r"[\w.-]+(/[\w.-]*)+|[\w-]+\.py")
MEDIA_TYPES = ("application/", "text/", "image/")


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


FILES = set(git("ls-files", "--cached", "--others", "--exclude-standard").stdout.split())
NAMES = {Path(name).name for name in FILES}


def named_paths(text: str) -> set[str]:
    """The paths `text` names, bare names after a path on the same line joined to its folder."""
    found = set()
    for line in text.splitlines():
        folder = None
        for match in NAMED.finditer(line):
            link, span = match.group(2), match.group(1)
            if link is not None:
                found.add(link)
            elif PATH.fullmatch(span) and not span.startswith(("/", *MEDIA_TYPES)):
                head, slash, _ = span.partition("/")
                if slash and "." in head and not head.startswith("."):
                    continue  # `member.login/logout`: names, not a path
                if "/" in span:
                    is_folder = span.endswith("/")
                    folder = span.rstrip("/") if is_folder else span.rpartition("/")[0]
                    found.add(span)
                else:
                    found.add(span if folder is None else f"{folder}/{span}")
    return found


def exists(path: str) -> bool:
    if "/" not in path:
        return path in NAMES  # a bare file name: somewhere in the repository
    for base in BASES:
        relative = Path(os.path.relpath(base / path, ROOT)).as_posix()
        if relative.startswith("../"):
            continue  # outside the repository: not something a clone has
        folder = relative.rstrip("/") + "/"
        if relative in FILES or any(name.startswith(folder) for name in FILES):
            return True
        if git("check-ignore", "-q", relative).returncode == 0:
            return True  # made by the build or the tests
    return False


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_path_a_document_names_exists(document: Path) -> None:
    missing = sorted(path for path in named_paths(document.read_text("utf-8")) if not exists(path))
    assert missing == []


def test_the_check_finds_what_does_not_exist() -> None:
    text = "`core/sender.py`, `ids.py`, `page.py`; [x](member.md), `../shared/spec.md`, `/v1/x`"
    assert named_paths(text) == {
        "core/sender.py",
        "core/ids.py",
        "core/page.py",
        "member.md",
        "../shared/spec.md",
    }
    assert [exists(p) for p in ("core/sender.py", "core/ids.py", "member.md")] == [True] * 3
    assert not any(exists(p) for p in ("core/page.py", "../shared/spec.md", "ids2.py"))


def test_no_doc_points_outside_the_repository() -> None:
    outside = re.compile(r"\.\./|/work/|/shared/")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in ALL_DOCS
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert found == []


def test_the_readme_names_the_demo_ports() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "COLLECTOR_PORT" in readme and "DEMO_PORT" in readme
