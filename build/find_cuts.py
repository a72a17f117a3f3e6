"""List the runtime functions that no test calls: candidates for build/runtime_cuts.txt.

Usage:
  python build/find_cuts.py run [PYTEST ARGS]     # coverage build + browser tests -> hashes
  python build/find_cuts.py list [--min-bytes N]  # functions no test called, biggest first

`run` builds the bundle uncut and unminified (ALLEGRO_COVERAGE_BUILD=1), runs pytest (by default
tests/sdk_build, tests/browser and tests/demo_site) with build/coverage_plugin.py, which records
the functions each page called, into .cache/coverage/hashes.txt. `list` names the runtime's
functions (build/runtime_functions.cjs) and prints, for each function that never ran and whose
enclosing function did run, its size and name, unless the SDK's generated code spells its own
name (`lower` for `str_funcs.lower`): a method the SDK may call on a path no test takes stays;
nor does what KEEP names. The output is a starting point for a review, not a list to paste: see
docs/build.md, "Functions the SDK never calls".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

from bundle import (
    BUILD_DIR,
    DEFAULT_MAIN,
    ROOT,
    SDK_PACKAGE,
    Module,
    brython_js_path,
    discover,
    reachable,
    transpile,
)
from runtime import make_runtime

HASHES = ROOT / ".cache" / "coverage" / "hashes.txt"
DEFAULT_TESTS = ["tests/sdk_build", "tests/browser", "tests/demo_site"]


def run(pytest_args: list[str]) -> int:
    HASHES.parent.mkdir(parents=True, exist_ok=True)
    HASHES.unlink(missing_ok=True)
    env = dict(
        os.environ,
        ALLEGRO_COVERAGE_BUILD="1",
        ALLEGRO_COVERAGE_OUT=str(HASHES),
        PYTHONPATH=str(BUILD_DIR),
    )
    subprocess.run([sys.executable, str(BUILD_DIR / "bundle.py")], env=env, check=True)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "coverage_plugin", "-q"]
        + (pytest_args or DEFAULT_TESTS),
        env=env,
        check=False,
    )
    print(f"coverage of {len(set(HASHES.read_text().split()))} functions in {HASHES}")
    print("rebuild static/allegro.js with `make build` before using it")
    return tests.returncode


def functions() -> list[dict[str, object]]:
    runtime = make_runtime(brython_js_path().read_text("utf-8"))
    result = subprocess.run(
        ["node", str(BUILD_DIR / "runtime_functions.cjs"), "list"],
        input=runtime,
        capture_output=True,
        text=True,
        check=True,
    )
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def sdk_names() -> set[str]:
    """Every name the SDK's generated code spells: attributes, methods, builtins, dunders."""
    modules = discover(SDK_PACKAGE, ROOT)
    modules.append(Module("__main__", "__main__.py", False, DEFAULT_MAIN))
    code = "\n".join(str(m["js"]) for m in transpile(brython_js_path(), reachable(modules)))
    return set(NAME.findall(code))


NAME = re.compile(r"""(?:['"]|\.)([A-Za-z_$][\w$]*)""")


def own_name(name: str) -> str:
    """`str_funcs.lower#2` -> `lower`: a function's own name, without its owners."""
    return re.split(r"[./]", name.split("#")[0])[-1]


# Brython's slot for each dunder the SDK's code may spell (`$B.rich_op('__truediv__', a, b)`
# reaches `int.nb_true_divide` or `float.nb_true_divide`).
SLOTS = {
    "__add__": "nb_add",
    "__sub__": "nb_subtract",
    "__mul__": "nb_multiply",
    "__truediv__": "nb_true_divide",
    "__floordiv__": "nb_floor_divide",
    "__mod__": "nb_remainder",
    "__divmod__": "nb_divmod",
    "__pow__": "nb_power",
    "__lshift__": "nb_lshift",
    "__rshift__": "nb_rshift",
    "__and__": "nb_and",
    "__or__": "nb_or",
    "__xor__": "nb_xor",
    "__invert__": "nb_invert",
    "__neg__": "nb_negative",
    "__iadd__": "nb_inplace_add",
    "__isub__": "nb_inplace_subtract",
    "__imul__": "nb_inplace_multiply",
    "__ior__": "nb_inplace_or",
    "__iand__": "nb_inplace_and",
    "__ixor__": "nb_inplace_xor",
    "__float__": "nb_float",
    "__bool__": "nb_bool",
    "__eq__": "tp_richcompare",
    "__lt__": "tp_richcompare",
    "__hash__": "tp_hash",
    "__iter__": "tp_iter",
    "__next__": "tp_iternext",
    "__contains__": "sq_contains",
    "__getitem__": "mp_subscript",
    "__setitem__": "mp_ass_subscript",
}
# What stays even when no test called it (the review's rules, docs/build.md):
KEEP = re.compile(
    # raising and reporting errors: a path the tests do not take must still say what went wrong
    r"error|Error|suggest|missing_|too_many|unexpected|multiple_values|pos_only|check_nb_args"
    r"|check_kw|check_expected|print_stack|frames_stack|exception|\$err$|recursion|tp_str"
    r"|repr"
    # values crossing between JS and Python
    r"|JSObj|js_array|JSMeta|JSClass|JSFunction|JSConstructor|jsobj|pyobj|to_simple|conv_num"
    r"|conv_float|convert_to_python|dict_to_js|to_num|jsstring|codepoint|structuredclone"
    # operators, comparisons, `in`, `[]`, iteration and hashing of every type: which type's slot
    # an operator of the SDK reaches depends on the values (`x += y` on a list is nb_inplace_add)
    r"|\.(nb|sq|mp)_\w+$|\.tp_(richcompare|hash|iter|iternext)$|_(eq|lt|le|gt|ge)$"
    # polyfills run in older browsers only; list.sort() of 32 items or more (the outbox sorts)
    r"|prototype|TimSort|gallop"
    # defined by this build's own edits
    r"|^\$B\.set_function$|^__BRYTHON__\.cut_$"
)


def uncovered(min_bytes: int) -> list[tuple[int, str]]:
    """Functions no test ran (outermost only), except those whose own name the SDK's code spells
    (a method or builtin the SDK may call on a path the tests did not take)."""
    called = set(HASHES.read_text().split())
    spelled = sdk_names()
    spelled |= {slot for dunder, slot in SLOTS.items() if dunder in spelled}
    rows = []
    dead: list[str] = []  # names of uncovered functions, to skip what is inside them
    for entry in functions():
        name = str(entry["name"])
        keys = entry["keys"]
        assert isinstance(keys, list)
        if any(key in called for key in keys):
            continue
        if any(name.startswith(outer + "/") for outer in dead):
            continue
        dead.append(name)
        size = int(str(entry["size"]))
        if size >= min_bytes and own_name(name) not in spelled and not KEEP.search(name):
            rows.append((size, name))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["run", "list"])
    parser.add_argument("--min-bytes", type=int, default=120)
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        return run(rest)
    for size, name in sorted(uncovered(args.min_bytes), key=lambda row: (-row[0], row[1])):
        print(f"{size:7d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
