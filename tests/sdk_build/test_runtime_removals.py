"""build/runtime_removals.cjs: parts of the runtime the SDK never reaches go whole, and a runtime
that no longer has the expected shape, or still names what was removed, fails the build naming it.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from bundle import BUILD_DIR, brython_js_path, cut_unused_functions, remove_unreached_parts
from runtime import make_runtime


def run(source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(BUILD_DIR / "runtime_removals.cjs")],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def cut_runtime() -> str:
    return cut_unused_functions(make_runtime(brython_js_path().read_text("utf-8")))


def test_the_removed_parts_are_gone(cut_runtime: str) -> None:
    runtime = remove_unreached_parts(cut_runtime)
    assert "var TimSort=function" in cut_runtime
    assert "var TimSort=function" not in runtime
    assert "$B.$TimSort=function(array,compare){array.sort(" in runtime
    assert "function alphabeticalCompare(" in runtime
    assert cut_runtime.count("console.log(") > 200
    assert "console.log(" not in runtime
    assert "console[self.out](s)" in runtime  # what sys.stdout writes stays
    assert 'init_type($B,"hamt",' in cut_runtime
    assert 'init_type($B,"hamt",' not in runtime
    assert 'init_type(_b_,"ConnectionResetError",' in runtime  # builtins stay
    assert "$B.unicode_casefold=" not in runtime
    assert "$B.unicode_titles=" in runtime  # str.title reads it
    assert "$B.formatters=" in cut_runtime
    assert "$B.formatters=" not in runtime  # kept %f, %e and %g alive, read by nothing
    assert len(runtime) < len(cut_runtime) - 25_000


def test_a_removed_type_still_named_fails_naming_it(cut_runtime: str) -> None:
    result = run(cut_runtime + "\n__BRYTHON__.user=__BRYTHON__.hamt\n")
    assert result.returncode == 1
    assert "'hamt' is still named in the runtime" in result.stderr


def test_a_removed_table_still_read_fails_naming_it(cut_runtime: str) -> None:
    result = run(cut_runtime + "\n__BRYTHON__.user=__BRYTHON__.formatters\n")
    assert result.returncode == 1
    assert "'formatters' is still named in the runtime" in result.stderr


def test_a_missing_statement_fails_naming_it(cut_runtime: str) -> None:
    result = run(cut_runtime.replace("var DEFAULT_MIN_MERGE=32", "var MIN_MERGE=32"))
    assert result.returncode == 1
    assert "expected one statement defining 'DEFAULT_MIN_MERGE'" in result.stderr


def test_the_runtime_has_no_direct_eval(cut_runtime: str) -> None:
    # A direct eval() anywhere forbids the minifier to rename the variables of every scope
    # around it (browser.load had the last one: it is cut, docs/build.md).
    runtime = remove_unreached_parts(cut_runtime)
    calls = re.findall(r"(?<![\w$.'])eval\(", runtime)  # not the text 'eval() and exec()...
    assert calls == []
