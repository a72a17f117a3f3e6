"""build/runtime_functions.cjs and build/runtime_cuts.txt: the runtime functions the SDK never
calls lose their bodies to a stub that raises naming them, and a name that no longer fits the
installed brython.js fails the build naming it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from bundle import BUILD_DIR, RUNTIME_CUTS, brython_js_path, cut_unused_functions
from runtime import make_runtime

SAMPLE = """(function($B){var _b_=$B.builtins
var str_funcs={}
str_funcs.center=function(self,width,fillchar){var pad=width-self.length
return self+pad}
str_funcs.lower=function(self){return self.toLowerCase()}
function helper(x){return [1,2].map(function(y){return x+y})}
$B.JSObj={tp_repr:function(self){return '<JSObj>'}, go(a){return a}}
str_funcs.lower=function(self){return self}
$B.str_funcs=str_funcs
})(__BRYTHON__)
"""


def run(mode: str, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(BUILD_DIR / "runtime_functions.cjs"), mode, *args],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )


def test_functions_are_named_by_where_they_are() -> None:
    listed = json.loads(run("list", SAMPLE).stdout)
    assert [entry["name"] for entry in listed] == [
        "str_funcs.center",
        "str_funcs.lower",
        "helper",
        "helper/<anon>",
        "$B.JSObj.tp_repr",
        "$B.JSObj.go",
        "str_funcs.lower#2",
    ]


def test_a_cut_function_keeps_its_parameters_and_raises_naming_itself(tmp_path: Path) -> None:
    cuts = tmp_path / "cuts.txt"
    cuts.write_text("# a comment line\nstr_funcs.center\nhelper/<anon>  # inner\n", "utf-8")
    result = run("cut", SAMPLE, str(cuts))
    assert result.returncode == 0, result.stderr
    assert (
        'str_funcs.center=function(self,width,fillchar){__BRYTHON__.cut_("str_funcs.center")}'
        in result.stdout
    )
    assert 'function(y){__BRYTHON__.cut_("helper/<anon>")}' in result.stdout
    assert "str_funcs.lower=function(self){return self.toLowerCase()}" in result.stdout
    # the stub raises NotImplementedError naming the function, through the runtime's own cut_
    runtime = make_runtime(brython_js_path().read_text("utf-8"))
    defined = re.search(r"var __BRYTHON__=\{cut_:.*?\}\}\n", runtime, re.S)
    assert defined, "the runtime defines __BRYTHON__.cut_ (build/runtime_edits.cjs)"
    define = defined.group()
    script = (
        define + "\nvar raised = null;"
        "\n__BRYTHON__.builtins = {NotImplementedError: 'NotImplementedError'};"
        "\n__BRYTHON__.RAISE = function(type, message){ raised = [type, message] };\n"
        + result.stdout
        + "\n__BRYTHON__.str_funcs.center('a', 5); console.log(JSON.stringify(raised))"
    )
    ran = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [
        "NotImplementedError",
        "str_funcs.center is not in this runtime (cut from the bundle as never called: "
        "build/runtime_cuts.txt)",
    ]


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ("str_funcs.centre\n", "no longer exist in brython.js"),
        ("str_funcs.center\nstr_funcs.center\n", "names twice"),
        ("helper\nhelper/<anon>\n", "inside another cut function"),
    ],
)
def test_a_wrong_cut_list_fails_naming_it(tmp_path: Path, listed: str, message: str) -> None:
    cuts = tmp_path / "cuts.txt"
    cuts.write_text(listed, "utf-8")
    result = run("cut", SAMPLE, str(cuts))
    assert result.returncode != 0
    assert message in result.stderr


def test_every_listed_function_is_cut_from_the_installed_runtime() -> None:
    runtime = make_runtime(brython_js_path().read_text("utf-8"))
    cut = cut_unused_functions(runtime)
    names = [
        line.split("  #")[0].strip()
        for line in RUNTIME_CUTS.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(names) > 300
    for name in names:
        assert cut.count(f"__BRYTHON__.cut_({json.dumps(name)})") == 1, name
    assert len(cut) < len(runtime) * 0.85  # about a fifth of the runtime's text goes
