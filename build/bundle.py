"""Build static/allegro.js: a private Brython runtime plus the SDK's modules, compiled ahead.

Usage: python build/bundle.py [--main MODULE] [--out PATH] [--no-minify] [--debug]

Steps (see docs/build.md): transpile every module of allegro_sdk/ with Brython's own compiler
running in Node; patch brython.js into a runtime without compiler, globals or eval; emit each
module as a real JS function; wrap everything in one closure; minify with terser; print sizes;
write the hashed copy and its manifest (distribution.py).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import brotli
from distribution import write_distribution
from runtime import make_runtime
from source_strip import strip_for_browser

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
SDK_PACKAGE = ROOT / "allegro_sdk"
# What of the package the bundle ships: its __init__ and these subpackages. Not `testing`, the
# pytest helpers for sites, which run under CPython only.
SHIPPED_SUBPACKAGES = ("core", "browser")
# What SDK code may import in the browser: the stdlib is not shipped (each module would cost most
# of a second to import), and type-only imports are removed by source_strip.
IMPORTABLE = ("browser", "javascript", "allegro_sdk")
DEFAULT_MAIN = "from allegro_sdk.browser.bootstrap import start\nstart()\n"


@dataclass(frozen=True)
class Module:
    name: str
    filename: str
    is_package: bool
    source: str


def discover(package_dir: Path, root: Path) -> list[Module]:
    """Every .py file of a package, as Brython modules named by their dotted path."""
    modules = []
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(root)
        inner = path.relative_to(package_dir).parts
        if len(inner) > 1 and inner[0] not in SHIPPED_SUBPACKAGES:
            continue
        is_package = path.name == "__init__.py"
        parts = list(relative.with_suffix("").parts)
        if is_package:
            parts.pop()
        source = strip_for_browser(path.read_text("utf-8"))
        check_imports(source, relative.as_posix())
        check_formatting(source, relative.as_posix())
        modules.append(Module(".".join(parts), relative.as_posix(), is_package, source))
    return modules


def check_imports(source: str, filename: str) -> None:
    """Fail the build, naming the import, when browser code would import what is not shipped."""
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] not in IMPORTABLE:
                raise SystemExit(
                    f"build failed: {filename}:{getattr(node, 'lineno', 0)} imports {name}, "
                    "which the browser "
                    f"bundle does not ship (only {', '.join(IMPORTABLE)}; see docs/build.md)"
                )


# String formatting is cut from the runtime (docs/build.md, "Functions the SDK never calls"): in
# the browser it raises NotImplementedError. The SDK's source must not use it; a clear build error
# names the line instead. f"{x}" (str()) and f"{x!r}" (repr()) stay.
FORMATTING_ADVICE = (
    "string formatting is cut from the bundle's runtime (docs/build.md): build the text with "
    'f"{x}", f"{x!r}", str() and + instead'
)


def check_formatting(source: str, filename: str) -> None:
    """Fail the build, naming the line, when SDK code uses string formatting the runtime lacks:
    `%` on a string literal or f-string, a `.format(`/`.format_map(` call, the `format()`
    builtin, or a format spec in an f-string. (`%` on a string held in a variable cannot be seen
    here; it raises NotImplementedError in the browser.)"""
    for node in ast.walk(ast.parse(source)):
        what = None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            left = node.left
            if isinstance(left, ast.JoinedStr) or (
                isinstance(left, ast.Constant) and isinstance(left.value, str)
            ):
                what = "formats a string with %"
        elif isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute) and function.attr in ("format", "format_map"):
                what = f"calls .{function.attr}()"
            elif isinstance(function, ast.Name) and function.id == "format":
                what = "calls format()"
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            what = "has a format spec in an f-string"
        if what:
            raise SystemExit(
                f"build failed: {filename}:{getattr(node, 'lineno', 0)} {what}; "
                + FORMATTING_ADVICE
            )


def transpile(brython_js: Path, modules: list[Module]) -> list[dict[str, object]]:
    request = {
        "brython_js": str(brython_js),
        "modules": [m.__dict__ for m in modules],
    }
    output = run_node_tool("transpile.cjs", json.dumps(request), "build failed")
    compiled: list[dict[str, object]] = json.loads(output)["modules"]
    return compiled


def shrink_generated_code(functions: list[dict[str, str]], line_numbers: bool = False) -> list[str]:
    """Rewrite each module's function on its syntax tree (build/generated_code.cjs): drop what
    generated code records only for tracebacks and tools the SDK does not use, and spell the rest
    shorter. Without `line_numbers` (the production bundle), the statements that record the
    current line go too: a traceback then names each function and file, at the function's first
    line; the debug bundle (`--debug`, static/allegro.debug.js) keeps them (docs/build.md)."""
    request = json.dumps({"line_numbers": line_numbers, "modules": functions})
    output = run_node_tool("generated_code.cjs", request, "build failed: rewriting generated code")
    rewritten: list[str] = json.loads(output)
    return rewritten


def module_functions(
    compiled: list[dict[str, object]], line_numbers: bool = False
) -> dict[str, str]:
    """Each module as a JS function, rewritten: `function(locals_NAME){...}` for the module table
    (the runtime passes the module's namespace), `function(){...}` for __main__."""
    functions = []
    for mod in compiled:
        if mod["name"] == "__main__":
            js = f"function(){{\n{mod['js']}\n}}"
        else:
            local = "locals_" + str(mod["scope_name"])
            js = f"function({local}){{\n{mod['js']}\nreturn {local}\n}}"
        functions.append({"name": str(mod["name"]), "js": js})
    names = [f["name"] for f in functions]
    return dict(zip(names, shrink_generated_code(functions, line_numbers), strict=True))


def module_table(
    compiled: list[dict[str, object]], packages: set[str], functions: dict[str, str]
) -> str:
    """A JS object literal: name -> [imports, is_package, real function]. No strings to eval."""
    entries = []
    for mod in compiled:
        name = str(mod["name"])
        imports = json.dumps(mod["imports"])
        entries.append(
            f"{json.dumps(name)}: [{imports}, {json.dumps(name in packages)}, {functions[name]}]"
        )
    return "{\n" + ",\n".join(entries) + "\n}"


def module_level_imports(module: Module, known: set[str], anywhere: bool = False) -> list[str]:
    """The bundle's modules that `module` imports when it runs (not inside functions: those
    stay lazy; with `anywhere`, those too), parents first, as Brython imports them."""
    found: list[str] = []
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    tree = ast.parse(module.source)
    for node in ast.walk(tree) if anywhere else tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            for end in range(1, len(parts) + 1):
                prefix = ".".join(parts[:end])
                if prefix in known and prefix not in found:
                    found.append(prefix)
    return found


def import_order(modules: list[Module]) -> list[str]:
    """The bundle's modules that __main__ imports at start, each after what it imports: the boot
    imports them one slice at a time, so each module body runs in its own short task."""
    by_name = {m.name: m for m in modules}
    known = set(by_name) - {"__main__"}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting:
            return  # an import cycle: Brython resolves it when the module runs
        visiting.add(name)
        for dependency in module_level_imports(by_name[name], known):
            visit(dependency)
        visiting.discard(name)
        if name != "__main__":
            order.append(name)

    visit("__main__")
    return order


def reachable(modules: list[Module]) -> list[Module]:
    """The modules __main__ can import, at start or later (a test build with its own __main__
    leaves the SDK out)."""
    by_name = {m.name: m for m in modules}
    known = set(by_name)
    todo, seen = ["__main__"], {"__main__"}
    while todo:
        for name in module_level_imports(by_name[todo.pop()], known, anywhere=True):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return [m for m in modules if m.name in seen]


def assemble(
    runtime_parts: str,
    compiled: list[dict[str, object]],
    packages: set[str],
    imports: list[str],
    line_numbers: bool = False,
) -> str:
    functions = module_functions(compiled, line_numbers)
    modules = [m for m in compiled if m["name"] != "__main__"]
    boot = (BUILD_DIR / "boot.js").read_text("utf-8")
    # The runtime is strict code, as brython.js is. Brython's generated code is written for
    # sloppy mode (stock Brython runs it through Function(), whose bodies are sloppy): in strict
    # mode `for c in "text"` throws. So modules stay outside the runtime's strict function.
    return (
        "(function(){\n"
        # Loading the bundle twice on one page must not start a second SDK.
        "if (window.allegro && window.allegro.__allegro__) { return; }\n"
        "var __BRYTHON__;\n"  # set by the boot once the runtime's parts have run
        f"var RUNTIME = {runtime_parts or RUNTIME_PLACEHOLDER};\n"
        f"var MODULES = {module_table(modules, packages, functions)};\n"
        f"var IMPORTS = {json.dumps(imports)};\n"
        f"var MAIN = {functions['__main__']};\n"
        f"{boot}\n"
        "})();\n"
    )


# The runtime is minified on its own (it is a closed expression) and cached by content: it is most
# of the bundle and most of the build's time (terser), and the same for every build of a tree,
# including the test builds (self-test, traceback). The rest of the bundle is minified with this
# name in the runtime's place, which is then replaced by the minified runtime.
RUNTIME_PLACEHOLDER = "ALLEGRO_MINIFIED_RUNTIME_GOES_HERE"
CACHE_DIR = ROOT / ".cache" / "build"


def minified_runtime(runtime_parts: str) -> str:
    tools = (BUILD_DIR / "minify.cjs").read_bytes() + (BUILD_DIR / "package-lock.json").read_bytes()
    key = hashlib.sha256(tools + runtime_parts.encode("utf-8")).hexdigest()
    cached = CACHE_DIR / f"runtime-{key[:32]}.min.js"
    if cached.is_file():
        return cached.read_text("utf-8")
    result = minify(f"var RUNTIME = {runtime_parts};\n").strip()
    prefix = "var RUNTIME="
    if not (result.startswith(prefix) and result.endswith(";")):
        raise SystemExit(f"minify failed: unexpected shape of the minified runtime: {result[:80]}")
    text = result[len(prefix) : -1]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(cached.name + f".{os.getpid()}.tmp")
    partial.write_text(text, "utf-8")
    partial.replace(cached)  # atomic: parallel builds never read half a file
    return text


def insert_runtime(minified_bundle: str, runtime: str) -> str:
    if minified_bundle.count(RUNTIME_PLACEHOLDER) != 1:
        raise SystemExit("minify failed: the runtime's place in the bundle was not kept once")
    return minified_bundle.replace(RUNTIME_PLACEHOLDER, f"({runtime})")


# The runtime functions the SDK never calls (docs/build.md, "Functions the SDK never calls"): a
# reviewed list, one name a line; their bodies become a stub that raises NotImplementedError.
RUNTIME_CUTS = BUILD_DIR / "runtime_cuts.txt"
# A build for finding what to cut (build/find_cuts.py): the whole runtime, not minified.
COVERAGE_BUILD = os.environ.get("ALLEGRO_COVERAGE_BUILD") == "1"


def cut_unused_functions(runtime: str) -> str:
    return run_node_tool(
        "runtime_functions.cjs",
        runtime,
        "build failed: cutting unused functions",
        "cut",
        str(RUNTIME_CUTS),
    )


# Whole parts of the runtime the SDK never reaches (docs/build.md, "Parts of the runtime the SDK
# never reaches"), removed on its syntax tree after the cut of functions.
def remove_unreached_parts(runtime: str) -> str:
    return run_node_tool("runtime_removals.cjs", runtime, "build failed: removing unreached parts")


def runtime_in_parts(runtime: str, uncut: str | None = None) -> str:
    """The runtime as a list of functions the boot runs one slice at a time (runtime_parts.cjs),
    grouped as the `uncut` runtime's statements would be (cutting functions must not merge two
    files' start-up work into one part)."""
    sizes_from: list[str] = []
    if uncut is not None:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        uncut_file = CACHE_DIR / f"uncut-runtime.{os.getpid()}.js"
        uncut_file.write_text(uncut, "utf-8")
        sizes_from = [str(uncut_file)]
    try:
        failure = "build failed: cutting the runtime into parts"
        return run_node_tool("runtime_parts.cjs", runtime, failure, *sizes_from)
    finally:
        for name in sizes_from:
            Path(name).unlink()


def minify(source: str) -> str:
    return run_node_tool("minify.cjs", source, "minify failed")


def run_node_tool(script: str, stdin: str, failure: str, *arguments: str) -> str:
    """Run one of build/'s Node tools on `stdin` and return what it writes; a failure stops the
    build with `failure` and what the tool said."""
    result = subprocess.run(
        ["node", str(BUILD_DIR / script), *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{failure}: {result.stderr.strip()}")
    return result.stdout


def brython_js_path() -> Path:
    import brython

    return Path(brython.__file__).resolve().parent / "data" / "brython.js"


def build(main_source: str, out: Path, do_minify: bool, debug: bool = False) -> dict[str, int]:
    brython_js = brython_js_path()
    runtime = make_runtime(brython_js.read_text("utf-8"))
    uncut = runtime
    if COVERAGE_BUILD:
        do_minify = False
    else:
        runtime = remove_unreached_parts(cut_unused_functions(runtime))
    modules = discover(SDK_PACKAGE, ROOT)
    main_source = strip_for_browser(main_source)
    check_imports(main_source, "__main__.py")
    modules.append(Module("__main__", "__main__.py", False, main_source))
    modules = reachable(modules)
    packages = {m.name for m in modules if m.is_package}
    compiled = transpile(brython_js, modules)
    parts = runtime_in_parts(runtime, uncut)
    if do_minify:
        bundle = assemble("", compiled, packages, import_order(modules), debug)
        bundle = insert_runtime(minify(bundle), minified_runtime(parts))
    else:
        bundle = assemble(parts, compiled, packages, import_order(modules), debug)
    data = bundle.encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    # Pre-compressed copies, for servers that send them as they are (the demo site does).
    compressed = brotli.compress(data, quality=11)
    zipped = gzip.compress(data, compresslevel=9, mtime=0)
    out.with_name(out.name + ".br").write_bytes(compressed)
    out.with_name(out.name + ".gz").write_bytes(zipped)
    return {"raw": len(data), "gzip": len(zipped), "brotli": len(compressed)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--main", help="a Python file to run instead of the SDK's bootstrap")
    parser.add_argument("--out", type=Path, default=ROOT / "static" / "allegro.js")
    parser.add_argument("--no-minify", action="store_true")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="keep the line numbers of tracebacks (static/allegro.debug.js; docs/build.md)",
    )
    args = parser.parse_args(argv)
    main_source = Path(args.main).read_text("utf-8") if args.main else DEFAULT_MAIN
    figures = build(main_source, args.out, not args.no_minify, args.debug)
    print(
        f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}: "
        f"{figures['raw']:,} bytes raw, {figures['gzip']:,} gzip -9, "
        f"{figures['brotli']:,} brotli -11"
    )
    if not args.debug:
        # The hashed copy and the manifest are the distributed bundle's; the debug build is a
        # development aid beside it (docs/build.md), and must not replace them.
        manifest = write_distribution(args.out)
        print(f"{manifest['file']}: {manifest['integrity']} (manifest.json beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
