"""types/allegro.d.ts with the pinned TypeScript: the examples compile, the wrong calls do not
(each with the error its line is marked with), and the fields match the SDK's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from allegro_sdk.core.event import STRING_FIELDS

ROOT = Path(__file__).resolve().parents[2]
TYPES = ROOT / "types"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
# `rejected/x.ts(3,28): error TS2353: Object literal may only specify known properties, ...`
DIAGNOSTIC = re.compile(r"^(?P<file>[^\s(]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): ")
MARKER = re.compile(r"// error (TS\d+)$")


def tsc(project: Path) -> subprocess.CompletedProcess[str]:
    assert TSC.exists(), "node_modules is missing: run `make test` (it runs npm ci)"
    return subprocess.run(
        [str(TSC), "-p", str(project), "--pretty", "false"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project.parent,
    )


def test_the_examples_compile() -> None:
    result = tsc(TYPES / "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_javascript_testing_example_compiles() -> None:
    result = tsc(ROOT / "examples" / "checkout" / "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_wrong_call_fails_with_the_error_it_is_marked_with() -> None:
    expected = set()
    for path in sorted((TYPES / "rejected").glob("*.ts")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            marker = MARKER.search(line)
            if marker:
                expected.add((f"rejected/{path.name}", number, marker.group(1)))
    assert len(expected) >= 9
    result = tsc(TYPES / "tsconfig.rejected.json")
    assert result.returncode != 0
    found = {
        (match["file"], int(match["line"]), match["code"])
        for match in map(DIAGNOSTIC.match, result.stdout.splitlines())
        if match
    }
    assert found == expected, result.stdout


def test_the_rejected_project_lists_every_rejected_file() -> None:
    listed = (TYPES / "tsconfig.rejected.json").read_text("utf-8")
    for path in (TYPES / "rejected").glob("*.ts"):
        assert f'"rejected/{path.name}"' in listed


def test_track_fields_are_the_sdks() -> None:
    source = (TYPES / "allegro.d.ts").read_text("utf-8")
    body = source.split("interface TrackFields {", 1)[1].split("}", 1)[0]
    declared = re.findall(r"^\s*(\w+)\?:", body, re.M)
    assert declared == [*STRING_FIELDS, "data"]


@pytest.mark.parametrize("name", ["allegro.d.ts"])
def test_the_build_ships_the_types_beside_the_bundle(name: str) -> None:
    shipped = ROOT / "static" / name
    assert shipped.exists(), "static/allegro.d.ts is missing: run `make build`"
    assert shipped.read_text("utf-8") == (TYPES / name).read_text("utf-8")
