"""The wheel carries the built SDK bundle as package data of the collector (docs/build.md).

Everything else is in pyproject.toml. Building a wheel runs the SDK build (`build/bundle.py`,
which needs Node.js and build/'s npm packages) into `allegro_collector/sdk_static/` of the wheel,
so the bundle it serves is the one its own sources make. An editable install (`make install`)
builds nothing: in a checkout the collector serves `static/` from `make build`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUILD_DIR = ROOT / "build"
# The development copies; the hashed copy, its .br/.gz and manifest.json are what is served.
UNSERVED = ("allegro.js", "allegro.js.br", "allegro.js.gz")


def run(command: list[str], cwd: Path, what: str) -> None:
    try:
        subprocess.run(command, cwd=cwd, check=True)
    except FileNotFoundError as exc:
        raise SystemExit(
            f"building the wheel {what}, which needs {command[0]} (on Debian: apt-get install "
            f"nodejs npm): {exc}"
        ) from exc
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"building the wheel failed while it {what}: {exc}") from exc


class BuildPyWithBundle(build_py):
    """build_py, then the SDK bundle into the collector's `sdk_static/`."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (BUILD_DIR / "node_modules" / ".installed").exists():
            run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                BUILD_DIR,
                "installs the SDK build's npm packages",
            )
            (BUILD_DIR / "node_modules" / ".installed").touch()
        target = Path(self.build_lib) / "allegro_collector" / "sdk_static"
        shutil.rmtree(target, ignore_errors=True)
        run(
            [sys.executable, str(BUILD_DIR / "bundle.py"), "--out", str(target / "allegro.js")],
            ROOT,
            "builds the SDK bundle (build/bundle.py)",
        )
        for name in UNSERVED:
            (target / name).unlink()


setup(
    cmdclass={"build_py": BuildPyWithBundle},
    # setuptools' scratch directory, out of build/ (the SDK's build scripts live there).
    options={"build": {"build_base": ".cache/setuptools"}},
)
