"""Turn PyPI's brython.js (3.15.0) into a private, compiler-free, CSP-safe runtime.

The edits are made on brython.js's syntax tree by `build/runtime_edits.cjs` (acorn); each names
the nodes it changes by their structure and must find each of them exactly once, so a Brython
upgrade that moves or changes any of them fails the build loudly, naming the edit and why it
exists, instead of shipping a broken runtime. The reasons for each edit are in docs/build.md.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

BRYTHON_VERSION = "3.15.0"

EDITS_TOOL = Path(__file__).resolve().parent / "runtime_edits.cjs"


class RuntimePatchError(RuntimeError):
    """brython.js does not have the layout this build was written for."""


def check_version(source: str) -> None:
    """The release is on the `// implementation` line: the `// version` line is the version of
    Python it follows (brython 3.14.3 says `version [3, 14, 0, 'final', 0]`)."""
    expected = "\n// implementation [" + ", ".join(BRYTHON_VERSION.split(".")) + ", "
    if expected not in source[:400]:
        raise RuntimePatchError(f"brython.js is not version {BRYTHON_VERSION}")


def run_edits(mode: str, brython_js: str) -> str:
    """Run runtime_edits.cjs in `mode` (`patch` or `probe`) on brython.js's source."""
    result = subprocess.run(
        ["node", str(EDITS_TOOL), mode],
        input=brython_js,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if result.returncode == 2:  # an edit did not find its nodes exactly once
        raise RuntimePatchError(
            f"brython.js {BRYTHON_VERSION} no longer fits these edits (docs/build.md, "
            f'"Upgrading Brython"):\n{result.stderr.strip()}'
        )
    if result.returncode != 0:
        raise RuntimePatchError(f"runtime_edits.cjs failed: {result.stderr.strip()}")
    return result.stdout


def make_runtime(brython_js: str) -> str:
    """Return the patched runtime source (to be wrapped in the bundle's closure)."""
    check_version(brython_js)
    return run_edits("patch", brython_js)


@dataclass(frozen=True)
class Probe:
    """Where one edit found its first node in brython.js (tests/sdk_build/test_runtime.py):
    `remove` is the statement holding it, `copy` a statement around it whose copy makes the node
    found twice (in a block if `lexical`: it declares with let, const or class)."""

    why: str
    remove: tuple[int, int]
    copy: tuple[int, int]
    lexical: bool


def probe_edits(brython_js: str) -> list[Probe]:
    found = json.loads(run_edits("probe", brython_js))
    return [
        Probe(
            why=edit["why"],
            remove=(edit["remove"][0], edit["remove"][1]),
            copy=(edit["copy"][0], edit["copy"][1]),
            lexical=edit["copy"][2],
        )
        for edit in found
    ]
