// Transpiles the SDK's Python modules to JavaScript at build time with Brython's own compiler.
//
// Input (stdin, JSON):  {"brython_js": "<path to brython.js>",
//                        "modules": [{"name": "pkg.mod", "filename": "pkg/mod.py",
//                                     "is_package": false, "source": "..."}]}
// Output (stdout, JSON): {"modules": [{"name": "pkg.mod", "js": "...", "imports": ["..."]}]}
//
// Brython 3.15 loads in Node once a few browser globals exist; see docs/build.md.
"use strict";
const fs = require("fs");
const vm = require("vm");

// Brython names generated functions and temporaries after Math.random() (`build_api385033`):
// a fixed sequence makes two builds of one tree byte-identical (docs/build.md, "Reproducible").
function seededRandom(seed) {
  let state = seed >>> 0;
  return function () {
    // mulberry32: small, fast, and enough for distinct names
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadBrython(path) {
  Math.random = seededRandom(20261130);
  globalThis.self = globalThis;
  globalThis.addEventListener = () => {};
  globalThis.location = { href: "http://localhost/", origin: "http://localhost", pathname: "/" };
  globalThis.module = { exports: {} };
  vm.runInThisContext(fs.readFileSync(path, "utf8"), { filename: path });
  const $B = globalThis.__BRYTHON__;
  if (!$B || typeof $B.py2js !== "function") {
    throw new Error("brython.js did not expose __BRYTHON__.py2js: is this Brython 3.15?");
  }
  $B.$options = $B.parse_options({});
  return $B;
}

function transpile($B, mod) {
  const module = $B.module.$factory(mod.name, "", mod.is_package ? mod.name : parentOf(mod.name));
  $B.file_cache[mod.filename] = mod.source;
  $B.url2name[mod.filename] = mod.name;
  const root = $B.py2js(
    { src: mod.source, filename: mod.filename, imported: true },
    module,
    mod.name,
    $B.builtins_scope,
  );
  return {
    name: mod.name,
    js: root.to_js(),
    imports: Object.keys(root.imports || {}),
    scope_name: $B.scope_name(mod.name),
  };
}

function parentOf(name) {
  const parts = name.split(".");
  parts.pop();
  return parts.join(".");
}

function main() {
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  const $B = loadBrython(request.brython_js);
  const out = [];
  for (const mod of request.modules) {
    try {
      out.push(transpile($B, mod));
    } catch (err) {
      const detail = err && err.args ? String(err.args[0]) : String(err);
      const line = err && err.lineno !== undefined ? `:${err.lineno}` : "";
      process.stderr.write(`transpile failed for ${mod.filename}${line}: ${detail}\n`);
      process.exit(1);
    }
  }
  process.stdout.write(JSON.stringify({ modules: out }));
}

main();
