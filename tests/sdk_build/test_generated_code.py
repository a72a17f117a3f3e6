"""build/generated_code.cjs: the SDK's compiled modules, rewritten on their syntax tree, do what
they did with fewer bytes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bundle import shrink_generated_code

ROOT = Path(__file__).resolve().parents[2]

INFOS_F1 = (
    "['pkg.mod', 'f', 'f', __file__, [(function(){\n"
    "  function lambda2(){}\n"
    "  lambda2.$function_infos = ['pkg.mod', '<lambda>', 'f.<locals>.<lambda>', __file__, "
    "_b_.None, _b_.None, _b_.None, ['x'], null, null,\n"
    "    1, 3, 19, [], 0, 0, ['x'], false, [], frame]\n"
    "  $B.set_func_attrs(lambda2, frame, 'pkg.mod')\n"
    "  lambda2.ob_type = $B.function\n"
    "  return lambda2})()], _b_.None, _b_.None, ['a'], null, null,\n"
    "    1, 3, 3, [], 0, 0, ['a','b'], false, [], frame]"
)
MODULE = f"""function(locals_pkg_mod){{
var $B = __BRYTHON__, locals = $B.namespace("pkg.mod"), frame = ["pkg.mod", locals, "pkg.mod"]
function f1(){{ return {{"pkg.mod": 'pkg.mod', other: "pkg.modx"}} }}
f1.$function_infos = {INFOS_F1}
$B.set_func_attrs(f1, frame, 'pkg.mod')
f1.ob_type = $B.function
locals.f = f1
return locals_pkg_mod
}}"""

METHODS = """function(locals_pkg_mod){
var $B = __BRYTHON__, locals = $B.namespace("pkg.mod")
function plain(self){
  var locals = {self}
  try {
    locals.ob_type =  locals.__class__ = $B.get_method_class(plain, locals_pkg_mod, "C", ['C'])
    return $B.$getattr(locals.self, 'x')
  } catch (err) {}
}
function child(self){
  var locals = {self}
  try {
    locals.ob_type =  locals.__class__ = $B.get_method_class(child, locals_pkg_mod, "C", ['C'])
    return $B.$call($B.$getattr($B.$call(_b_.super), 'describe'))
  } catch (err) {}
}
function named(self){
  var locals = {self}
  try {
    locals.ob_type =  locals.__class__ = $B.get_method_class(named, locals_pkg_mod, "C", ['C'])
    return $B.$getattr(locals.self, '__class__')
  } catch (err) {}
}
return locals_pkg_mod
}"""


def test_the_module_name_is_one_variable_and_definitions_are_one_call() -> None:
    (js,) = shrink_generated_code([{"name": "pkg.mod", "js": MODULE}], line_numbers=True)
    assert js.startswith('function(locals_pkg_mod){\nvar $module_name = "pkg.mod";')
    assert "$B.namespace($module_name), frame = [$module_name, locals, $module_name]" in js
    # an object key stays a key; another string stays itself
    assert '{"pkg.mod": $module_name, other: "pkg.modx"}' in js
    assert "$B.set_func_attrs" not in js and "ob_type" not in js
    # the usual infos are left out, what differs stays (flags 19, the qualname's prefix)
    assert (
        "$B.def(lambda2, frame, $module_name, __file__, 3, '<lambda>', ['x'], 0, "
        '"f.<locals>.", 0, {12: 19})' in js
    )
    assert (
        "$B.def(f1, frame, $module_name, __file__, 3, 'f', ['a'], ['b'], 0, 0, {4: [(function(){"
        in js
    )
    # and it is still JavaScript
    subprocess.run(["node", "--check"], input=f"({js})", text=True, check=True)


def test_def_rebuilds_the_infos_that_generated_code_wrote() -> None:
    """build/boot.js's $B.def, run on the rewritten definitions, gives the original arrays."""
    (js,) = shrink_generated_code([{"name": "pkg.mod", "js": MODULE}], line_numbers=True)
    boot = (ROOT / "build" / "boot.js").read_text("utf-8")
    start = boot.index("function defineFunction(")
    define = boot[start : boot.index("\n}\n", start) + 3]
    script = f"""
var infos = {{}};
var __BRYTHON__ = {{builtins: {{None: "None"}},
  set_function: function (f, frame, i) {{ infos[f.name] = i; }},
  namespace: function () {{ return {{}}; }}}};
var $B = __BRYTHON__, _b_ = $B.builtins, __file__ = "pkg/mod.py";
{define}
$B.def = defineFunction;
({js})({{}});
process.stdout.write(JSON.stringify(infos));
"""
    result = subprocess.run(["node"], input=script, text=True, capture_output=True, check=True)
    infos = json.loads(result.stdout)
    frame = ["pkg.mod", {}, "pkg.mod"]
    lambda_infos = [
        "pkg.mod",
        "<lambda>",
        "f.<locals>.<lambda>",
        "pkg/mod.py",
        "None",
        "None",
        "None",
    ]
    lambda_infos += [["x"], None, None, 1, 3, 19, [], 0, 0, ["x"], False, [], frame]
    assert infos["lambda2"] == lambda_infos
    # f1's default value is the lambda (a function: null in JSON)
    f1_infos = ["pkg.mod", "f", "f", "pkg/mod.py", [None], "None", "None", ["a"], None, None, 1, 3]
    f1_infos += [3, [], 0, 0, ["a", "b"], False, [], frame]
    assert infos["f1"] == f1_infos


def test_a_definition_of_another_shape_fails_the_build() -> None:
    odd = MODULE.replace("f1.ob_type = $B.function", "f1.ob_type = $B.other")
    with pytest.raises(SystemExit, match=r"pkg\.mod: a function definition of an unexpected shape"):
        shrink_generated_code([{"name": "pkg.mod", "js": odd}])


def test_infos_of_another_length_fail_the_build() -> None:
    odd = MODULE.replace("['a','b'], false, [], frame]", "['a','b'], false, [], frame, 1]")
    with pytest.raises(SystemExit, match=r"function f1: infos of an unexpected shape"):
        shrink_generated_code([{"name": "pkg.mod", "js": odd}])


def test_methods_that_read_no_class_do_not_look_it_up() -> None:
    (js,) = shrink_generated_code([{"name": "pkg.mod", "js": METHODS}])
    plain = js[js.index("function plain") : js.index("function child")]
    assert "get_method_class" not in plain
    # super() and __class__ read the class the statement stores
    assert js.count("$B.get_method_class(") == 2
    assert "get_method_class(child" in js and "get_method_class(named" in js


def test_a_method_class_statement_of_another_shape_fails_the_build() -> None:
    odd = METHODS.replace("locals.ob_type =  locals.__class__ = $B", "locals.__class__ = $B", 1)
    with pytest.raises(SystemExit, match=r"a get_method_class statement of an unexpected shape"):
        shrink_generated_code([{"name": "pkg.mod", "js": odd}])


def compact(body: str, line_numbers: bool = False) -> str:
    """What the build makes of a __main__ body (compacted only: its text stays comparable)."""
    (js,) = shrink_generated_code(
        [{"name": "__main__", "js": f"function(){{\n{body}}}"}], line_numbers
    )
    assert js.startswith("function(){\n") and js.endswith("}")
    return js[len("function(){\n") : -1]


def test_generated_code_loses_column_positions_and_the_debug_build_keeps_line_numbers() -> None:
    js = (
        "a()\n    frame.positions = [[3,0,34],[5,4,32],[7,0,2,9]]\n"
        "  $B.set_lineno(frame, 12)\nx()\nif($B.set_lineno(frame, 13) && y){}\n"
        "$B.set_lineno(frame, 21, 'ClassDef')\n"
    )
    assert compact(js, line_numbers=True) == (
        "a()\n    ;\n  ;frame.$lineno = 12\nx()\nif((frame.$lineno = 13) && y){}\n"
        ";frame.$lineno = 21\n"
    )


def test_the_production_build_records_no_line_numbers() -> None:
    js = "a()\n  $B.set_lineno(frame, 12)\nx()\nif($B.set_lineno(frame, 13) && y){}\n"
    # set_lineno returned true: a condition keeps its value; a statement leaves a `;`, so that
    # the code around it, which leans on automatic semicolons, keeps its meaning
    assert compact(js) == "a()\n  ;\nx()\nif(true && y){}\n"


def test_the_production_build_leaves_the_lines_of_frames_and_loops_undefined() -> None:
    """A frame's first line (`$B.enter_frame`), a `for` statement's line (`frame.$lineno = N`,
    `$B.make_js_iterator`): the production build records no line at all; the debug build keeps
    them. A traceback of the production build names files and functions without lines."""
    js = (
        "$B.enter_frame(frame, __file__, 58)\n"
        "frame.$lineno = 113\n"
        "for(var next of $B.make_js_iterator(iterator_7, frame, 113)){}\n"
        "var f = $B.make_js_iterator(expr, frame, 27)\n"
    )
    assert compact(js) == (
        "$B.enter_frame(frame, __file__)\n;\n"
        "for(var next of $B.make_js_iterator(iterator_7, frame)){}\n"
        "var f = $B.make_js_iterator(expr, frame)\n"
    )
    assert compact(js, line_numbers=True) == js


def test_a_function_frame_is_named_by_the_runtime_not_by_the_code() -> None:
    """`var frame = ["name", locals, module, globals, f]`: $B.enter_frame names the frame after
    f (f.$function_infos), so the code leaves the name out; a name that is not f's own fails."""
    infos = "['pkg.mod', 'handle', 'C.handle', __file__]"
    js = (
        "function handle7(){\n"
        "var frame = ['handle', locals, 'pkg.mod', locals_pkg_mod, handle7]\n}\n"
        f"handle7.$function_infos = {infos}\n"
    )
    assert compact(js) == (
        "function handle7(){\nvar frame = [, locals, 'pkg.mod', locals_pkg_mod, handle7]\n}\n"
        f"handle7.$function_infos = {infos}\n"
    )
    with pytest.raises(SystemExit, match="the frame of handle7 is named 'other'"):
        compact(js.replace("['handle', locals", "['other', locals"))


def test_generated_code_loses_instruction_numbers() -> None:
    js = (
        "x = $B.$call_with_position(f, 3, $B.$getattr_pep657(o, 'a,b', 5), 'it\\'s)', 7)\n"
        "y = $B.call_attr($B.$getitem(l, [1, 2][0], 9), 'get', 11, {k: 1}, )\n"
        '$B.$setattr1(locals.api, "track", g(1, 2), 13)\n'
        "    iterator_12[$B.INUM] = 3\n"
        "      $B.js_this = this\n"
        "      f12.__annotate__ = _b_.None\n"
        "    Object.defineProperty(locals, 'self', {get: function(){return locals_m_f.self}, "
        "set: function(){}, enumerable: true, configurable: true})\n"
        '$B.import("javascript", [], {}, locals_m, 1)\n'
        "$B.$import_from(\"m.n\", 'f', {}, 0, locals, 7)\n"
        "v = $B.resolve_local('value', 5) + $B.resolve_in_scopes('x', [locals_m], 12)\n"
        "t = $B.unpacker(v1, 2, false, 9) + $B.unpacker(v2, 3, true, 1, 11)\n"
    )
    assert compact(js) == (
        "x = $B.$call(f, $B.$getattr(o, 'a,b'), 'it\\'s)', 7)\n"
        "y = $B.call_attr($B.$getitem(l, [1, 2][0]), 'get', 0, {k: 1})\n"
        '$B.$setattr1(locals.api, "track", g(1, 2))\n'
        "    ;\n      ;\n      ;\n    ;\n"
        '$B.import("javascript", [], {}, locals_m)\n'
        "$B.$import_from(\"m.n\", 'f', {}, 0, locals)\n"
        "v = $B.resolve_local('value') + $B.resolve_in_scopes('x', [locals_m])\n"
        "t = $B.unpacker(v1, 2, false) + $B.unpacker(v2, 3, true, 1)\n"
    )


def test_dict_displays_lose_the_hashes_of_their_str_keys() -> None:
    js = (
        "d = _b_.dict.$literal([['a', f(1, [2]), 123456789], ['it\\'s', "
        "_b_.dict.$literal([['b', 2, 987654321]]), 55], [3, 'x', 7], ['c', 3]])\n"
    )
    assert compact(js) == (
        "d = _b_.dict.$literal([['a', f(1, [2])], ['it\\'s', "
        "_b_.dict.$literal([['b', 2]])], [3, 'x', 7], ['c', 3]])\n"
    )
    # {**data, 'a': 9}
    merged = (
        "_b_.dict.$literal(_b_.list.$factory(items(data)).concat([['a', 9, 7929297801672961]]))\n"
    )
    assert (
        compact(merged) == "_b_.dict.$literal(_b_.list.$factory(items(data)).concat([['a', 9]]))\n"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("$B.$getattr_pep657(o, 'a')\n", "unexpected call"),
        ("$B.rich_op('__add__', a, b, x)\n", "unexpected call"),
        ("d = _b_.dict.$literal([['a', 1, h]])\n", "unexpected dict item"),
        ("d = _b_.dict.$literal(items)\n", "unexpected dict display"),
        (
            "if (frame.positions) { x = frame.positions[0] }\n",
            r"\.positions of an unexpected shape",
        ),
        ("$B.set_lineno(frame, n)\n", r"\$B\.set_lineno\( of an unexpected shape"),
        ("Object.defineProperty(locals, 'x', {get: f})\n", "Object.defineProperty"),
        ("$B.resolve_local('x', 5, 6)\n", "unexpected call"),
        ("$B.enter_frame(frame, __file__, n)\n", "unexpected call"),
        ("frame.$lineno = 1 + n\n", "a line number of an unexpected shape"),
    ],
)
def test_a_shape_the_rewrites_do_not_expect_fails_the_build(body: str, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        compact(body)


def test_what_only_a_tracer_or_an_unused_handler_reads_goes() -> None:
    js = (
        "var _frame_obj = $B.frame_obj\n"
        "var stack_length = $B.count_frames()\n"
        "var save_frame_obj_7 = $B.frame_obj\n"
        "if (frame.$f_trace !== _b_.None) {\n  $B.trace_line()\n}\n"
        "$B.frame_obj.frame.inum = 9\n"
        "$B.frame_obj = save_frame_obj_7\n"
    )
    # a saved frame that is restored stays
    assert compact(js) == (
        ";\n;\nvar save_frame_obj_7 = $B.frame_obj\n;\n;\n$B.frame_obj = save_frame_obj_7\n"
    )


def test_the_production_build_leaves_out_first_lines_and_static_attributes() -> None:
    """co_firstlineno and a class's __static_attributes__ are read by introspection only;
    tracebacks take a frame's line from $B.enter_frame, which stays."""
    (js,) = shrink_generated_code([{"name": "pkg.mod", "js": MODULE}])
    assert "$B.def(f1, frame, $module_name, __file__, 0, 'f', ['a'], ['b']" in js
    (debug,) = shrink_generated_code([{"name": "pkg.mod", "js": MODULE}], line_numbers=True)
    assert "$B.def(f1, frame, $module_name, __file__, 3, 'f', ['a'], ['b']" in debug
    body = 'locals.__static_attributes__ = $B.fast_tuple(["_secure","_domain"])\n'
    assert compact(body) == ";\n"
    assert compact(body, line_numbers=True) == body
