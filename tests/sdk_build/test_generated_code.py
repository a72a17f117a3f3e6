"""build/generated_code.cjs: the SDK's compiled modules, rewritten on their syntax tree, do what
they did with fewer bytes."""

from __future__ import annotations

import subprocess

import pytest
from bundle import shrink_generated_code

MODULE = """function(locals_pkg_mod){
var $B = __BRYTHON__, locals = $B.namespace("pkg.mod"), frame = ["pkg.mod", locals, "pkg.mod"]
function f1(){ return {"pkg.mod": 'pkg.mod', other: "pkg.modx"} }
f1.$function_infos = ['pkg.mod', 'f', 'f', __file__, [(function(){
  function lambda2(){}
  lambda2.$function_infos = ['pkg.mod', '<lambda>']
  $B.set_func_attrs(lambda2, frame, 'pkg.mod')
  lambda2.ob_type = $B.function
  return lambda2})()], 1]
$B.set_func_attrs(f1, frame, 'pkg.mod')
f1.ob_type = $B.function
locals.f = f1
return locals_pkg_mod
}"""


def test_the_module_name_is_one_variable_and_definitions_are_one_call() -> None:
    (js,) = shrink_generated_code([{"name": "pkg.mod", "js": MODULE}])
    assert js.startswith('function(locals_pkg_mod){\nvar $module_name = "pkg.mod";')
    assert "$B.namespace($module_name), frame = [$module_name, locals, $module_name]" in js
    # an object key stays a key; another string stays itself
    assert '{"pkg.mod": $module_name, other: "pkg.modx"}' in js
    assert "$B.set_func_attrs" not in js and "ob_type" not in js
    assert "$B.set_function(lambda2, frame, [$module_name, '<lambda>'])" in js
    assert "$B.set_function(f1, frame, [$module_name, 'f', 'f', __file__, [(function(){" in js
    # and it is still JavaScript
    subprocess.run(["node", "--check"], input=f"({js})", text=True, check=True)


def test_a_definition_of_another_shape_fails_the_build() -> None:
    odd = MODULE.replace("f1.ob_type = $B.function", "f1.ob_type = $B.other")
    with pytest.raises(SystemExit, match=r"pkg\.mod: a function definition of an unexpected shape"):
        shrink_generated_code([{"name": "pkg.mod", "js": odd}])
