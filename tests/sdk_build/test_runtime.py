"""build/runtime.py and build/runtime_edits.cjs against the brython.js actually installed: every
edit finds its nodes exactly once, and a brython.js where any of them is missing or found twice
makes the build fail with a message naming the edit and why it exists."""

from __future__ import annotations

import re

import pytest
from bundle import brython_js_path
from runtime import Probe, RuntimePatchError, make_runtime, probe_edits


@pytest.fixture(scope="module")
def brython_js() -> str:
    return brython_js_path().read_text("utf-8")


@pytest.fixture(scope="module")
def runtime(brython_js: str) -> str:
    return make_runtime(brython_js)


# Where each edit finds its nodes in the installed brython.js (also names the parametrized tests).
PROBES = {probe.why: probe for probe in probe_edits(brython_js_path().read_text("utf-8"))}
EDIT_NAMES = list(PROBES)


@pytest.fixture(scope="module")
def probes() -> dict[str, Probe]:
    return PROBES


def outermost(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ranges not inside another, in source order."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(ranges), key=lambda r: (r[0], -r[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def failure(source: str) -> str:
    with pytest.raises(RuntimePatchError) as raised:
        make_runtime(source)
    return str(raised.value)


# Every edit's node removed, or copied, in one brython.js: the patcher checks every edit before it
# stops, so one run shows each edit's failure (a parse of brython.js takes seconds).
@pytest.fixture(scope="module")
def without_nodes(brython_js: str, probes: dict[str, Probe]) -> str:
    source = brython_js
    for start, end in reversed(outermost([probe.remove for probe in probes.values()])):
        source = source[:start] + ";" + source[end:]
    return failure(source)


@pytest.fixture(scope="module")
def with_nodes_twice(brython_js: str, probes: dict[str, Probe]) -> str:
    lexical = {probe.copy for probe in probes.values() if probe.lexical}
    source = brython_js
    for start, end in reversed(outermost([probe.copy for probe in probes.values()])):
        copy = source[start:end]
        if (start, end) in lexical:
            copy = "{" + copy + "}"
        source = source[:end] + "\n" + copy + "\n" + source[end:]
    return failure(source)


def test_the_edits_are_many_and_named_once(probes: dict[str, Probe]) -> None:
    assert len(EDIT_NAMES) == len(set(EDIT_NAMES)) == len(probes) > 40


@pytest.mark.parametrize("why", EDIT_NAMES, ids=[why[:40] for why in EDIT_NAMES])
def test_an_edit_whose_node_is_missing_fails_naming_it(without_nodes: str, why: str) -> None:
    line = next((line for line in without_nodes.splitlines() if f"'{why}'" in line), "")
    assert re.search(r"expected .*, found 0$", line), without_nodes


@pytest.mark.parametrize("why", EDIT_NAMES, ids=[why[:40] for why in EDIT_NAMES])
def test_an_edit_whose_node_is_found_twice_fails_naming_it(with_nodes_twice: str, why: str) -> None:
    line = next((line for line in with_nodes_twice.splitlines() if f"'{why}'" in line), "")
    assert re.search(r"expected exactly one .*, found [2-9]$", line), with_nodes_twice


def test_a_failure_says_what_to_do(without_nodes: str) -> None:
    assert without_nodes.startswith("brython.js 3.15.0 no longer fits these edits")
    assert "Upgrading Brython" in without_nodes


def test_a_single_missing_node_fails_that_edit_only(
    brython_js: str, probes: dict[str, Probe]
) -> None:
    start, end = probes["no global brython() function, no Node export"].remove
    message = failure(brython_js[:start] + ";" + brython_js[end:])
    assert message.splitlines()[1:] == [
        "runtime edit 'no global brython() function, no Node export': expected exactly one "
        "top-level `globalThis.brython = __BRYTHON__.brython`, found 0"
    ]


def test_another_version_is_refused(brython_js: str) -> None:
    # a release is named on the implementation line (3.14.3's version line says 3.14.0)
    for other in ("[3, 14, 3,", "[3, 15, 1,"):
        changed = brython_js.replace("implementation [3, 15, 0,", f"implementation {other}", 1)
        assert changed != brython_js
        with pytest.raises(RuntimePatchError, match=r"not version 3\.15\.0"):
            make_runtime(changed)


def test_brython_js_that_does_not_parse_fails(brython_js: str) -> None:
    with pytest.raises(RuntimePatchError, match=r"runtime_edits\.cjs failed"):
        make_runtime(brython_js + "\n(function(){")


@pytest.mark.parametrize(
    ("why", "gone"),
    [
        ("keep the runtime private", "globalThis.__BRYTHON__"),
        ("the startup feature check uses eval()", 'eval("async function* f(){}")'),
        ("no document-wide observer", "customElements.define("),
        ("no scan of the host page's own", 'script[type="text/python"]'),
        ("no global brython() function", "globalThis.brython"),
        ("modules are real JS functions", "new Function(prefix+parent_id,mod_js)"),
        ("the tokenizer, parser and code generator", "brython compiler chain"),
        ("the code generator", "function ast_dump("),
        ("the AST classes", "__BRYTHON__.ast_classes="),
        ("builtin docstrings", "Base class for arithmetic errors."),
        ("the builtin types' own docstrings", "Common base class for all exceptions"),
        ("$B.tz_name", "Intl.DateTimeFormat"),
        ("the tokenizer: every module", "const FT_START="),
        ("browser.html, the tag classes", "function makeTagClass("),
        ("DOM elements are plain DOMNode", "$B.imported['browser.html'],obj.tagName)"),
        ("'Did you mean' suggestions", "function levenshtein_distance("),
        ("browser.aio", "var responseType="),
        ("module downloads", "function $download_module("),
        ("the stdlib and URL finders", "StdlibStaticFinder"),
        ("t-strings", "make_builtin_class('Interpolation')"),
        ("traceback carets", "function make_report("),
        ("copyright and credits", "BeOpen"),
        ("tokens, AST and Python-to-JS", "$B.python_to_js="),
        ("javascript.import_js", "import_js:"),
        ("io classes and open()", "function make_lines("),
        ("bytes, bytearray, memoryview", "$B.set_func_names(memoryview"),
        ("complex numbers", "function conv_complex("),
        ("match statements", "$B.pattern_match="),
    ],
)
def test_what_an_edit_removes_is_gone(brython_js: str, runtime: str, why: str, gone: str) -> None:
    assert any(name.startswith(why) for name in EDIT_NAMES), why
    assert gone in brython_js
    assert gone not in runtime


def test_the_real_runtime_is_patched(brython_js: str, runtime: str) -> None:
    assert runtime.startswith(brython_js[: brython_js.index("var __BRYTHON__=")])
    assert "var __BRYTHON__={cut_:function(name)" in runtime
    assert "if(false){var startup_observer=new MutationObserver(" in runtime
    assert "if(obj instanceof Node){return $B.DOMNode}" in runtime
    assert "if(obj instanceof view.Node){return $B.DOMNode}" in runtime
    assert "var $module=mod_js(mod)" in runtime
    assert "$B.$meta_path=[VFSFinder]\n$B.finders={VFS:VFSFinder}\n" in runtime
    assert "$B.set_function=function(f,frame,infos)" in runtime
    assert "this_url=document.currentScript ? document.currentScript.src :location.href" in runtime
    assert "_b_.open ||= function()" in runtime
    assert "_b_.compile=function(){$B.RAISE(_b_.NotImplementedError," in runtime
    assert "_b_.eval=_b_.exec=function(){$B.RAISE(_b_.NotImplementedError," in runtime
    assert "modules['_suggestions']={_generate_suggestions:function(){return null}}" in runtime
    assert "if(false){}else{\ntrace.push('    '+lines[lineno-1].trim())}" in runtime
    assert "function _find_keyword_typos(err){}" in runtime
    assert "var docs={}\n" in runtime
    # the code generator's run-time helpers stay
    for helper in ("$B.decode_position=function", "$B.scope_name=function", "$B.resolve=function"):
        assert helper in runtime, helper
    assert "var builtins_scope={locals:new Set()}" in runtime
    assert len(runtime) < len(brython_js) * 0.75


def test_builtin_type_docstrings_go_and_their_slots_stay(runtime: str) -> None:
    assert 'init_type(_b_,"BaseException",["BaseException",72,0,1073763586,0,' in runtime
    assert 'init_type(_b_,"object",["object",16,0,5378,0,$B.NULL,0,"",' in runtime


def test_dropping_a_file_keeps_its_neighbours(runtime: str) -> None:
    # The bytes file goes whole; the range file before it and the set file after it stay.
    assert "$B.set_func_names(memoryview" not in runtime
    assert "range.$match_sequence_pattern" in runtime
    assert "function make_new_set(type)" in runtime


def test_browser_code_may_not_import_what_the_bundle_does_not_ship() -> None:
    from bundle import check_imports

    check_imports("import javascript\nfrom browser import window\nfrom .event import x\n", "ok.py")
    with pytest.raises(SystemExit, match=r"bad\.py:2 imports json"):
        check_imports("from browser import window\nimport json\n", "bad.py")


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ('x = 1\ntext = "%s items" % x\n', r"bad\.py:2 formats a string with %"),
        ('x = 1\ntext = f"{x}%" % ()\n', r"bad\.py:2 formats a string with %"),
        ('text = "{} items".format(3)\n', r"bad\.py:1 calls \.format\(\)"),
        ('values = {}\ntext = "{a}".format_map(values)\n', r"bad\.py:2 calls \.format_map\(\)"),
        ('text = format(3.5, ".1f")\n', r"bad\.py:1 calls format\(\)"),
        ('x = 3.5\n\ntext = f"{x:.1f}"\n', r"bad\.py:3 has a format spec in an f-string"),
        ('x = "a"\ntext = f"{x!r:>4}"\n', r"bad\.py:2 has a format spec in an f-string"),
    ],
)
def test_sdk_code_may_not_use_the_string_formatting_the_runtime_leaves_out(
    source: str, what: str
) -> None:
    from bundle import check_formatting

    with pytest.raises(SystemExit, match=what + r"; string formatting is cut"):
        check_formatting(source, "bad.py")


def test_sdk_code_may_build_text_with_f_strings_str_and_repr() -> None:
    from bundle import check_formatting

    source = 'x, n = "a", 7\ntext = f"{x} {x!r} {n}" + str(n) + repr(x)\nm = n % 2\n'
    check_formatting(source, "ok.py")


def test_the_bundle_ships_the_core_and_the_browser_layer_not_the_testing_helpers() -> None:
    from bundle import ROOT, SDK_PACKAGE, discover

    names = {module.name for module in discover(SDK_PACKAGE, ROOT)}
    assert {"allegro_sdk", "allegro_sdk.core.event", "allegro_sdk.browser.api"} <= names
    assert not {name for name in names if name.startswith("allegro_sdk.testing")}
    assert all(name.split(".")[1] in ("core", "browser") for name in names - {"allegro_sdk"})
