"""Turn PyPI's brython.js (3.15.0) into a private, compiler-free, CSP-safe runtime.

Every edit depends on the exact text of brython.js 3.15.0, so each one must match exactly once:
a Brython upgrade that moves any of them fails the build loudly instead of shipping a broken
runtime. The reasons for each edit are in docs/build.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BRYTHON_VERSION = "3.15.0"

COMPILER_START = "// >>> brython compiler chain"
COMPILER_END = "// <<< brython compiler chain"


class RuntimePatchError(RuntimeError):
    """brython.js does not have the layout this build was written for."""


@dataclass(frozen=True)
class Edit:
    """Replace `old` (which must occur exactly once) by `new`; `why` is for error messages."""

    why: str
    old: str
    new: str


EDITS: tuple[Edit, ...] = (
    Edit(
        why="keep the runtime private: never share or publish a global __BRYTHON__",
        old="var __BRYTHON__=globalThis.__BRYTHON__ ||{}",
        # cut_ is the body of every function cut by build/runtime_functions.cjs
        new="var __BRYTHON__={cut_:function(name){var $B=__BRYTHON__\n"
        "$B.RAISE($B.builtins.NotImplementedError,name+' is not in this runtime'"
        "+' (cut from the bundle as never called: build/runtime_cuts.txt)')}}",
    ),
    Edit(
        why="the startup feature check uses eval(), a CSP violation without 'unsafe-eval'",
        old='try{\neval("async function* f(){}")}catch(err){console.warn("Your browser is not fully'
        ' supported. If you are using "+\n"Microsoft Edge, please upgrade to the latest'
        ' version")}\n',
        new="",
    ),
    Edit(
        why="no document-wide observer, no DOMContentLoaded auto-start, no custom element",
        old="if(!($B.isWebWorker ||$B.isNode)){var startup_observer=new MutationObserver(",
        new="if(false){var startup_observer=new MutationObserver(",
    ),
    Edit(
        why="no scan of the host page's own <script type=text/python>",
        old="var python_scripts=[]\nif(!$B.isWebWorker){",
        new="var python_scripts=[]\nif(false){",
    ),
    Edit(
        why="no global brython() function, no Node export",
        old="globalThis.brython=__BRYTHON__.brython\nif(__BRYTHON__.isNode){global.__BRYTHON__="
        "__BRYTHON__\nmodule.exports={__BRYTHON__ }}",
        new="",
    ),
    Edit(
        why="the runtime starts in slices, after the script's evaluation: no currentScript then"
        " (brython_path is only used to fetch the stdlib, which is not shipped)",
        old="this_url=document.currentScript.src}",
        new="this_url=document.currentScript ? document.currentScript.src :location.href}",
    ),
    Edit(
        why="open() is left out with the io file: say so when called, not with a log at start",
        old="for(var builtin_func of $B.builtin_funcs){",
        new="_b_.open ||= function(){$B.RAISE(_b_.OSError, 'open() is not in this runtime')}\n"
        "for(var builtin_func of $B.builtin_funcs){",
    ),
    Edit(
        why="modules are real JS functions made at build time, never strings passed to Function()",
        old='mod_js+="return "+prefix+parent_id\n'
        "var $module=new Function(prefix+parent_id,mod_js)(\nmod)",
        new="var $module=mod_js(mod)",
    ),
    Edit(
        why="the meta path holds the VFS finder only (the other finders are cut below)",
        old="$B.$meta_path=[VFSFinder,StdlibStaticFinder,PathFinder]\n"
        "$B.finders={VFS:VFSFinder,stdlib_static:StdlibStaticFinder,path:PathFinder}\n",
        new="$B.$meta_path=[VFSFinder]\n$B.finders={VFS:VFSFinder}\n",
    ),
    Edit(
        why="javascript.this() raises: generated functions no longer record `this` (bundle.py)",
        old='"this":function(){\nif($B.js_this===undefined){return $B.builtins.None}\n'
        "return $B.jsobj2pyobj($B.js_this)}",
        new='"this":function(){'
        "$B.RAISE(_b_.NotImplementedError,'javascript.this() is not in this runtime')}",
    ),
    Edit(
        why="function __annotations__ work without the __annotate__ = None that bundle.py drops",
        old="if(self.__annotate__===_b_.None){return self.__annotations__=$B.empty_dict()}",
        new="if((self.__annotate__ ?? _b_.None)===_b_.None){"
        "return self.__annotations__=$B.empty_dict()}",
    ),
    Edit(
        why="one call ends each function definition of the SDK's code (build/generated_code.cjs)",
        old="$B.set_func_attrs=function(f,frame,module){f.func_globals=$B.obj_dict(frame[3])\n"
        "f.func_module=module}\n",
        new="$B.set_func_attrs=function(f,frame,module){f.func_globals=$B.obj_dict(frame[3])\n"
        "f.func_module=module}\n"
        "$B.set_function=function(f,frame,infos){f.$function_infos=infos\n"
        "$B.set_func_attrs(f,frame,infos[0])\nf.ob_type=$B.function}\n",
    ),
    Edit(
        why="DOM elements are plain DOMNode objects: no browser.html tag class per tag name",
        old="if(obj instanceof Node){if(obj.tagName){var res=$B.module_getattr("
        "$B.imported['browser.html'],obj.tagName)\nreturn res===$B.NULL ? $B.DOMNode :res}\n",
        new="if(obj instanceof Node){",
    ),
    Edit(
        why="str.join of a list or tuple joins its items directly: iterating it raised (and"
        " caught) a StopIteration for every join, the SDK's costliest runtime path per event",
        old="str_funcs.join=function(self,iterable){$B.check_nb_args_no_kw('str.join',2,arguments)\n"
        "var _self=to_string(self)\n",
        new="str_funcs.join=function(self,iterable){$B.check_nb_args_no_kw('str.join',2,arguments)\n"
        "var _self=to_string(self)\n"
        "if(Array.isArray(iterable)&&(iterable.ob_type===_b_.list||iterable.ob_type===_b_.tuple)){"
        "for(var i=0;i<iterable.length;i++){if(! $B.is_str(iterable[i])){"
        '$B.RAISE(_b_.TypeError,"sequence item "+i+": expected str instance, "+'
        '$B.class_name(iterable[i])+" found")}}\n'
        "return iterable.join(_self)}\n",
    ),
    Edit(
        why="str.partition makes its 3-tuple directly, not by iterating a JS array (which ends"
        " with a StopIteration raised and caught)",
        old='if(i==-1){return _b_.tuple.$factory([_self,"",""])}\n'
        "return _b_.tuple.$factory([chars.slice(0,i).join(''),sep,chars.slice(i+sep.length)"
        ".join('')])}",
        new='if(i==-1){return $B.fast_tuple([_self,"",""])}\n'
        "return $B.fast_tuple([chars.slice(0,i).join(''),sep,chars.slice(i+sep.length)"
        ".join('')])}",
    ),
    Edit(
        why="DOM elements of another window are plain DOMNode objects too",
        old="if(obj instanceof view.Node){if(obj.tagName){var res=$B.module_getattr("
        "$B.imported['browser.html'],obj.tagName)\nreturn res===$B.NULL ? $B.DOMNode :res}\n",
        new="if(obj instanceof view.Node){",
    ),
)


def apply_edit(source: str, edit: Edit) -> str:
    count = source.count(edit.old)
    if count != 1:
        raise RuntimePatchError(
            f"expected exactly one match in brython.js for the edit '{edit.why}', found {count}: "
            f"is brython {BRYTHON_VERSION} installed?"
        )
    return source.replace(edit.old, edit.new)


def between(source: str, start: str, end: str, why: str) -> tuple[int, int]:
    """Offsets of the text from `start` (included) to `end` (excluded), each found exactly once."""
    for marker in (start, end):
        if source.count(marker) != 1:
            raise RuntimePatchError(
                f"brython.js: expected one '{marker[:60]}' ({why}), found {source.count(marker)}"
            )
    first, last = source.index(start), source.index(end)
    if last < first:
        raise RuntimePatchError(f"brython.js: markers out of order ({why})")
    return first, last


def strip_compiler(source: str) -> str:
    """Drop the tokenizer, parser and code generator: every module is compiled at build time."""
    first, last = between(source, COMPILER_START, COMPILER_END, "compiler chain")
    return source[:first] + source[last + len(COMPILER_END) :]


AST_CLASSES_START = '"use strict";\n__BRYTHON__.ast_classes='
# The AST classes' file ends with a second IIFE that finalises every builtin type: that one stays.
AST_CLASSES_END = "ast[op_types[i][op]]]}}})(__BRYTHON__);\n"
CODEGEN_START = '"use strict";\n(function($B){var _b_=$B.builtins\nfunction ast_dump('
# The code generator (ast_to_js) also defines the few helpers that generated code calls at run
# time; these ranges of it are kept, everything else of it goes.
KEPT_CODEGEN_RANGES = (
    ("$B.decode_position=function", "function get_source_from_position("),
    (
        "$B.scope_name=function",
        "\n",
    ),
    ("function resolve_in_namespace(", "var $operators="),
    ("var exclude_from_builtins=", "var builtins_scope="),
)
BUILTINS_SCOPE = (
    "var builtins_scope={locals:new Set()}\n"
    "for(var name in $B.builtins){if(! exclude_from_builtins.includes(name))"
    "{builtins_scope.locals.add(name)}}\n"
)


def keep_runtime_helpers(source: str) -> str:
    """Drop the AST classes; replace the code generator by the run-time helpers it defines."""
    ast_first, ast_last = between(source, AST_CLASSES_START, AST_CLASSES_END, "AST classes")
    source = source[:ast_first] + source[ast_last + len(AST_CLASSES_END) :]
    first, codegen_end = between(source, CODEGEN_START, COMPILER_START, "code generator")
    codegen = source[first:codegen_end]
    kept = []
    for start, end in KEPT_CODEGEN_RANGES:
        if codegen.count(start) != 1:
            raise RuntimePatchError(f"brython.js code generator: expected one '{start}'")
        begin = codegen.index(start)
        stop = codegen.index(end, begin + len(start))
        kept.append(codegen[begin:stop] + ("\n" if end == "\n" else ""))
    helpers = (
        '"use strict";\n(function($B){var _b_=$B.builtins\n'
        + "".join(kept)
        + BUILTINS_SCOPE
        + "})(__BRYTHON__);\n"
    )
    return source[:first] + helpers + source[codegen_end:]


DOCS_START = "var docs={ArithmeticError:"
DOCS_END = "\nfor(var key in docs){"


def strip_docstrings(source: str) -> str:
    """Builtins' docstrings are 30 KB that a tracker never shows."""
    first, last = between(source, DOCS_START, DOCS_END, "builtin docstrings")
    return source[:first] + "var docs={}" + source[last:]


TYPE_SLOTS_START = '\nvar slots=["tp_name",'
TYPE_SLOTS_END = "\nfor(var name in $B.builtin_types){"
TYPE_DOC = re.compile(r"`[^`$\\]*`")


def strip_type_docs(source: str) -> str:
    """The builtin types' own docstrings (tp_doc, 13 KB of template literals in their slot tables)
    become empty strings: `int.__doc__` is then '' rather than a paragraph nobody reads here."""
    first, last = between(source, TYPE_SLOTS_START, TYPE_SLOTS_END, "builtin type slots")
    table = source[first:last]
    if table.count("`") != 2 * len(TYPE_DOC.findall(table)):
        raise RuntimePatchError("brython.js: a builtin type's docstring is not a plain literal")
    return source[:first] + TYPE_DOC.sub('""', table) + source[last:]


# Whole source files of brython.js that the SDK never uses, each named by its first lines. A
# feature removed here fails loudly if used (a missing method or class), never silently; the
# self-test (tests/sdk_build) checks that the rest of the runtime still behaves as CPython does.
UNUSED_FILES: dict[str, str] = {
    "tokenizer token table": "(function($B){const tokens=['ENDMARKER',",
    "script runner and IndexedDB module cache": (
        "(function($B){var _b_=$B.builtins\n"
        "if($B.VFS_timestamp && $B.VFS_timestamp > $B.timestamp){"
    ),
    "io classes and open()": (
        '(function($B){"use strict";\nvar _b_=$B.builtins\nfunction make_lines('
    ),
    "bytes, bytearray, memoryview and codecs": (
        "(function($B){var _b_=$B.builtins\nvar from_unicode={},to_unicode={}"
    ),
    "complex numbers": "(function($B){var _b_=$B.builtins\nfunction conv_complex(",
    "sentinel objects": "(function($B){let _b_=$B.builtins\n_b_.sentinel.tp_richcompare=",
    "match statements": '(function($B){"use strict";\n$B.pattern_match=function(',
}
# Every file of brython.js starts with one of these lines.
FILE_STARTS = ('"use strict";\n', '(function($B){"use strict";', ';(function($B){"use strict";')


def drop_file(source: str, start: str, why: str) -> str:
    """Remove the source file of brython.js that begins with `start`, up to the next file."""
    if source.count(start) != 1:
        raise RuntimePatchError(
            f"brython.js: expected one file starting '{start[:50]}' ({why}), "
            f"found {source.count(start)}"
        )
    first = source.index(start)
    if source[:first].endswith('"use strict";\n'):
        first -= len('"use strict";\n')
    after = first + len(start) + 1
    ends = [source.find("\n" + marker, after) for marker in FILE_STARTS]
    last = min((end for end in ends if end >= 0), default=-1)
    if last < 0:
        raise RuntimePatchError(f"brython.js: no file follows the one for {why}")
    return source[:first] + source[last + 1 :]


@dataclass(frozen=True)
class Cut:
    """Replace the text from `start` (which must occur exactly once) up to the first `end` after
    it (kept) by `new`: a part of brython.js that the SDK never reaches. `why` names it in errors.
    """

    why: str
    start: str
    end: str
    new: str = ""


# Parts of files that the SDK never reaches. Each goes whole, so using one fails loudly (a missing
# function or module), never quietly.
CUTS: tuple[Cut, ...] = (
    Cut(
        why="$B.tz_name: two Intl.DateTimeFormat calls on every start (13-20 ms cold) for a name"
        " nothing reads",
        start="var date=new Date()\nvar formatter=new Intl.DateTimeFormat($B.language,",
        end="$B.METH_VARARGS=",
    ),
    Cut(
        why="the tokenizer: every module is compiled at build time",
        start="const FT_START={f:'FSTRING_START'",
        end="})(__BRYTHON__);\n",
        new="",
    ),
    Cut(
        why="the compiler's entry points (py2js, docstrings, string escapes, __future__)",
        start="var ast=$B.ast\nfunction get_line(",
        end="$B.parse_options=function",
    ),
    Cut(
        why="running <script type=text/python> tags and the global brython() function",
        start="python_scripts=python_scripts.concat(",
        end="function convert_option(",
        new="}\n",
    ),
    Cut(
        why="running scripts and web workers from the page",
        start="function run_scripts(_scripts)",
        end="})(__BRYTHON__);",
    ),
    Cut(
        why="browser.html, the tag classes (the SDK uses the DOM through browser.window)",
        start="modules['browser.html']=(function($B){",
        end="}\nmodules['browser']=browser\n",
    ),
    Cut(
        why="'Did you mean' suggestions: none is ever computed for a tracker's errors",
        start="var MAX_CANDIDATE_ITEMS=750",
        end="\nreturn suggestion}}\n",
        # what remains of the module's function after `return null` is dead code
        new="modules['_suggestions']={_generate_suggestions:function(){return null",
    ),
    Cut(
        why="browser.aio (ajax, Future, sleep): requests go through the bundle's own fetch",
        start='var responseType={"text":"text"',
        end="function load(name,module_obj){",
    ),
    Cut(
        why="browser.html and browser.aio are not attached to the browser module",
        start="if(!($B.isWebWorker ||$B.isNode)){modules['browser'].html=modules['browser.html']",
        end="_b_.__builtins__=",
    ),
    Cut(
        why="compile(): it needs the compiler; calling it raises",
        start="_b_.compile=function(){",
        end="\n_b_.debug=$B.debug > 0\n",
        new="_b_.compile=function(){"
        "$B.RAISE(_b_.NotImplementedError,'compile() is not in this runtime')}",
    ),
    Cut(
        why="eval() and exec(): they need the compiler; calling them raises",
        start="var $$eval=_b_.eval=function(){",
        end="})(__BRYTHON__)\n",
        new="_b_.eval=_b_.exec=function(){"
        "$B.RAISE(_b_.NotImplementedError,'eval() and exec() are not in this runtime')}\n",
    ),
    Cut(
        why="javascript.import_js, import_modules, import_scripts: the SDK loads no other script",
        start="import_js:function(){\nvar $=$B.args('import_js'",
        end="JSObject:$B.JSObj,",
    ),
    Cut(
        why="javascript.load (deprecated, needs open()) and javascript.py2js (needs the compiler)",
        start='load:function(script_url){console.log(\'"javascript.load" is deprecrated.',
        end="Math:self.Math",
    ),
    Cut(
        why="javascript.py2js: it needs the compiler",
        start="py2js:function(src,module_name){if(module_name===undefined)",
        end="pyobj2jsobj:function(obj)",
    ),
    Cut(
        why="imports search the bundle's modules only: no stdlib finder on the import path",
        start="var static_stdlib_import=$B.get_option_from_filename('static_stdlib_import'",
        end="var pythonpath=$B.get_option_from_filename('pythonpath',filename)",
    ),
    Cut(
        why="imports search the bundle's modules only: no URL finder on the import path",
        start='if($B.protocol !=="file"){meta_path.push($B.finders.path)\n',
        end="$B.import_info[filename]={meta_path,path_hooks,path}}",
    ),
    Cut(
        why="module downloads (synchronous XMLHttpRequest): a missing module fails at once",
        start="function $download_module(mod,url){",
        end="$B.addToImported=function(",
    ),
    Cut(
        why="the stdlib and URL finders and loaders (only the bundle's VFS finder is used)",
        start='var StdlibStaticFinder=$B.make_builtin_class("StdlibStaticFinder")',
        end="function get_info(info){",
    ),
    Cut(
        why="the _importlib module, which exposes the dropped finders",
        start="function optimize_import_for_path(",
        end="})(__BRYTHON__)",
    ),
    Cut(
        why="t-strings (string.templatelib Template and Interpolation), which the SDK never writes",
        start="var Interpolation=$B.make_builtin_class('Interpolation')",
        end="})(__BRYTHON__);",
    ),
    Cut(
        why="traceback carets: they need frame.positions (dropped by bundle.py) and the parser",
        start="function make_report(lines,positions){",
        end="function trace_from_stack(err){",
    ),
    Cut(
        why="traceback carets: the branch of trace_from_stack that draws them",
        start="if(positions){let[lineno,end_lineno,col_offset,end_col_offset]=positions",
        end="\ntrace.push('    '+lines[lineno-1].trim())}",
        new="if(false){}else{",
    ),
    Cut(
        why="keyword-typo hints for syntax errors (the runtime compiles nothing)",
        start="var python_keywords\nfunction _find_keyword_typos(err){",
        end="\n$B.error_trace=function(err){",
        new="function _find_keyword_typos(err){}",
    ),
    Cut(
        why="copyright and credits texts of the interactive interpreter",
        start="var copyright=`Copyright",
        end="})(__BRYTHON__);",
    ),
    Cut(
        why="tokens, AST and Python-to-JS entry points for pages (need the compiler)",
        start="$B.show_tokens=function(",
        end="var fakeScript=$B.fakeScript=",
    ),
)


def apply_cut(source: str, cut: Cut) -> str:
    count = source.count(cut.start)
    if count != 1:
        raise RuntimePatchError(
            f"expected exactly one match in brython.js for the start of the cut '{cut.why}', "
            f"found {count}: is brython {BRYTHON_VERSION} installed?"
        )
    first = source.index(cut.start)
    last = source.find(cut.end, first + len(cut.start))
    if last < 0:
        raise RuntimePatchError(f"brython.js: no end '{cut.end[:40]}' for the cut '{cut.why}'")
    return source[:first] + cut.new + source[last:]


def check_version(source: str) -> None:
    expected = "// version [" + ", ".join(BRYTHON_VERSION.split(".")) + ", 'final', 0]"
    if expected not in source[:400]:
        raise RuntimePatchError(f"brython.js is not version {BRYTHON_VERSION}")


def make_runtime(brython_js: str) -> str:
    """Return the patched runtime source (to be wrapped in the bundle's closure)."""
    check_version(brython_js)
    source = brython_js
    for edit in EDITS:
        source = apply_edit(source, edit)
    source = keep_runtime_helpers(source)
    source = strip_compiler(source)
    for why, start in UNUSED_FILES.items():
        source = drop_file(source, start, why)
    for cut in CUTS:
        source = apply_cut(source, cut)
    return strip_type_docs(strip_docstrings(source))
