"""Two builds of one tree are byte-identical: the bundle, and its brotli and gzip copies.

`make test` builds static/allegro.js first; this test builds the same tree again and compares.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "static" / "allegro.js"


@pytest.mark.timeout(300)
def test_a_second_build_is_byte_identical(tmp_path: Path) -> None:
    assert BUNDLE.is_file(), "static/allegro.js is missing: run make build first"
    out = tmp_path / "allegro.js"
    result = subprocess.run(
        [sys.executable, str(ROOT / "build" / "bundle.py"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=280,
    )
    assert result.returncode == 0, f"the build failed:\n{result.stderr}"
    for suffix in ("", ".br", ".gz"):
        built = BUNDLE.with_name(BUNDLE.name + suffix).read_bytes()
        again = out.with_name(out.name + suffix).read_bytes()
        assert built == again, (
            f"allegro.js{suffix}: {len(built)} bytes from make build, {len(again)} from a second "
            "build of the same tree (or static/ is stale: run make build)"
        )
