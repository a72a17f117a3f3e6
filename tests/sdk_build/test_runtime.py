"""build/runtime.py against the brython.js actually installed: every edit still fits it exactly,
and a brython.js that lacks any of them makes the build fail with a message naming it."""

from __future__ import annotations

import pytest
from bundle import brython_js_path
from runtime import (
    AST_CLASSES_START,
    CODEGEN_START,
    COMPILER_END,
    COMPILER_START,
    CUTS,
    DOCS_START,
    EDITS,
    TYPE_SLOTS_END,
    TYPE_SLOTS_START,
    UNUSED_FILES,
    Cut,
    Edit,
    RuntimePatchError,
    make_runtime,
)


@pytest.fixture(scope="module")
def brython_js() -> str:
    return brython_js_path().read_text("utf-8")


@pytest.mark.parametrize("edit", EDITS, ids=[edit.why[:40] for edit in EDITS])
def test_each_edit_matches_exactly_once(brython_js: str, edit: Edit) -> None:
    assert brython_js.count(edit.old) == 1, edit.why


@pytest.mark.parametrize("edit", EDITS, ids=[edit.why[:40] for edit in EDITS])
def test_a_missing_edit_fails_naming_it(brython_js: str, edit: Edit) -> None:
    changed = brython_js.replace(edit.old, "")
    with pytest.raises(RuntimePatchError) as raised:
        make_runtime(changed)
    assert edit.why in str(raised.value)
    assert "found 0" in str(raised.value)


@pytest.mark.parametrize("edit", EDITS, ids=[edit.why[:40] for edit in EDITS])
def test_a_duplicated_edit_fails_naming_it(brython_js: str, edit: Edit) -> None:
    changed = brython_js + "\n" + edit.old
    with pytest.raises(RuntimePatchError, match="found 2") as raised:
        make_runtime(changed)
    assert edit.why in str(raised.value)


@pytest.mark.parametrize("cut", CUTS, ids=[cut.why[:40] for cut in CUTS])
def test_each_cut_starts_exactly_once_and_goes(brython_js: str, cut: Cut) -> None:
    assert brython_js.count(cut.start) == 1, cut.why
    first = brython_js.index(cut.start)
    cut_text = brython_js[first : brython_js.index(cut.end, first + len(cut.start))]
    runtime = make_runtime(brython_js)
    assert cut_text not in runtime, cut.why
    assert cut.new in runtime, cut.why


@pytest.mark.parametrize("cut", CUTS, ids=[cut.why[:40] for cut in CUTS])
def test_a_missing_cut_fails_naming_it(brython_js: str, cut: Cut) -> None:
    with pytest.raises(RuntimePatchError, match="found 0") as raised:
        make_runtime(brython_js.replace(cut.start, ""))
    assert cut.why in str(raised.value)


@pytest.mark.parametrize("cut", CUTS, ids=[cut.why[:40] for cut in CUTS])
def test_a_cut_without_its_end_fails_naming_it(brython_js: str, cut: Cut) -> None:
    with pytest.raises(RuntimePatchError, match="no end") as raised:
        make_runtime(brython_js.replace(cut.start, "") + cut.start)
    assert cut.why in str(raised.value)


@pytest.mark.parametrize("cut", CUTS, ids=[cut.why[:40] for cut in CUTS])
def test_a_duplicated_cut_fails_naming_it(brython_js: str, cut: Cut) -> None:
    with pytest.raises(RuntimePatchError, match="found 2") as raised:
        make_runtime(brython_js + "\n" + cut.start)
    assert cut.why in str(raised.value)


@pytest.mark.parametrize(
    "marker",
    [
        COMPILER_START,
        COMPILER_END,
        AST_CLASSES_START,
        CODEGEN_START,
        DOCS_START,
        TYPE_SLOTS_START,
        TYPE_SLOTS_END,
    ],
)
def test_a_missing_marker_fails(brython_js: str, marker: str) -> None:
    with pytest.raises(RuntimePatchError):
        make_runtime(brython_js.replace(marker, ""))


def test_builtin_type_docstrings_go_and_their_slots_stay(brython_js: str) -> None:
    runtime = make_runtime(brython_js)
    assert "Common base class for all exceptions" in brython_js
    assert "Common base class for all exceptions" not in runtime
    assert 'init_type(_b_,"BaseException",["BaseException",72,0,1073763586,0,' in runtime


def test_another_version_is_refused(brython_js: str) -> None:
    older = brython_js.replace("// version [3, 15, 0,", "// version [3, 14, 0,", 1)
    assert older != brython_js
    with pytest.raises(RuntimePatchError, match=r"not version 3\.15\.0"):
        make_runtime(older)


def test_the_real_runtime_is_patched(brython_js: str) -> None:
    runtime = make_runtime(brython_js)
    for edit in EDITS:
        if edit.old not in edit.new:
            assert edit.old not in runtime, edit.why
    assert COMPILER_START not in runtime
    assert COMPILER_END not in runtime
    assert "$B.decode_position=function" in runtime
    assert len(runtime) < len(brython_js) * 0.75


@pytest.mark.parametrize("why", list(UNUSED_FILES))
def test_each_unused_file_is_found_once_and_dropped(brython_js: str, why: str) -> None:
    start = UNUSED_FILES[why]
    assert brython_js.count(start) == 1, why
    assert start not in make_runtime(brython_js)


@pytest.mark.parametrize("why", list(UNUSED_FILES))
def test_a_missing_unused_file_fails_naming_it(brython_js: str, why: str) -> None:
    with pytest.raises(RuntimePatchError, match="found 0") as raised:
        make_runtime(brython_js.replace(UNUSED_FILES[why], ""))
    assert why in str(raised.value)


def test_dropping_a_file_keeps_its_neighbours(brython_js: str) -> None:
    runtime = make_runtime(brython_js)
    # The bytes file goes whole; the range file before it and the set file after it stay.
    assert "$B.set_func_names(memoryview" not in runtime
    assert "range.$match_sequence_pattern" in runtime
    assert "function make_new_set(type)" in runtime


def test_browser_code_may_not_import_what_the_bundle_does_not_ship() -> None:
    from bundle import check_imports

    check_imports("import javascript\nfrom browser import window\nfrom .event import x\n", "ok.py")
    with pytest.raises(SystemExit, match=r"bad\.py:2 imports json"):
        check_imports("from browser import window\nimport json\n", "bad.py")


def test_the_bundle_ships_the_core_and_the_browser_layer_not_the_testing_helpers() -> None:
    from bundle import ROOT, SDK_PACKAGE, discover

    names = {module.name for module in discover(SDK_PACKAGE, ROOT)}
    assert {"allegro_sdk", "allegro_sdk.core.event", "allegro_sdk.browser.api"} <= names
    assert not {name for name in names if name.startswith("allegro_sdk.testing")}
    assert all(name.split(".")[1] in ("core", "browser") for name in names - {"allegro_sdk"})
