// Names the functions of the patched runtime on its syntax tree (acorn), and either lists them
// or replaces the bodies of a reviewed list of them by a stub that raises (docs/build.md,
// "Functions the SDK never calls").
//
//   node runtime_functions.cjs list < runtime.js          -> JSON [{name, size, keys}, ...]
//   node runtime_functions.cjs cut CUTS_FILE < runtime.js -> the runtime with those bodies stubbed
//
// A function's name is the chain of names of the functions around it and its own, separated by
// "/": its declaration's name, or what it is assigned to (`$B.str.center`, `str.center`), or its
// property in an object literal (`$B.JSObj.__getattribute__`), else "<anon>"; a name given twice
// gets "#2", "#3"... in source order. A function called where it is written (the IIFE around each
// file of brython.js) always runs and has no name of its own in the chain. `keys` are the texts V8's coverage can report for it (from
// the `function` keyword, or from a method's name, to its end), hashed: what the coverage of a
// test run (build/coverage_plugin.py) is matched against.
// In `cut` mode every listed name must name exactly one function, or the build fails naming it.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const acorn = require("acorn");

const FUNCTIONS = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

function text(source, node) {
  return source.slice(node.start, node.end).replace(/\s+/g, "");
}

// What an expression that receives a value (a function, an object literal) calls it.
function targetName(source, node, parent) {
  if (!parent) return null;
  if (parent.type === "AssignmentExpression" && parent.right === node) return text(source, parent.left);
  if (parent.type === "VariableDeclarator" && parent.init === node) return text(source, parent.id);
  return null;
}

function propertyKey(source, key, computed) {
  if (!computed && key.type === "Identifier") return key.name;
  if (key.type === "Literal") return String(key.value);
  return "[" + text(source, key) + "]";
}

function hash(value) {
  return crypto.createHash("sha1").update(value).digest("hex").slice(0, 20);
}

function collect(source) {
  const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: "script" });
  const found = [];
  // objectNames: ObjectExpression node -> its name, for the functions among its properties
  const objectNames = new Map();
  const classNames = new Map();

  function visit(node, parent, chain) {
    if (!node || typeof node.type !== "string") return;
    let here = chain;
    if (node.type === "ObjectExpression") {
      let name = targetName(source, node, parent);
      if (name === null && parent && parent.type === "Property" && objectNames.has(parent.__object)) {
        name = objectNames.get(parent.__object) + "." + propertyKey(source, parent.key, parent.computed);
      }
      objectNames.set(node, name);
      for (const property of node.properties) property.__object = node;
    }
    if (node.type === "ClassDeclaration" || node.type === "ClassExpression") {
      classNames.set(node.body, node.id ? node.id.name : targetName(source, node, parent) || "<class>");
    }
    const iife = parent && parent.type === "CallExpression" && parent.callee === node;
    if (FUNCTIONS.has(node.type) && !iife) {
      let name = null;
      let keyStarts = [node.start];
      if (node.type === "FunctionDeclaration") name = node.id.name;
      if (name === null) name = targetName(source, node, parent);
      if (name === null && parent && parent.type === "Property" && parent.value === node) {
        const owner = objectNames.get(parent.__object);
        name = (owner ? owner + "." : "") + propertyKey(source, parent.key, parent.computed);
        if (parent.method || parent.kind !== "init") keyStarts = [parent.start, parent.key.start, node.start];
      }
      if (name === null && parent && parent.type === "MethodDefinition") {
        name = (classNames.get(parent.__classBody) || "<class>") + "." + propertyKey(source, parent.key, parent.computed);
        keyStarts = [parent.start, parent.key.start, node.start];
      }
      if (name === null && node.id) name = node.id.name;
      if (name === null) name = "<anon>";
      here = chain.concat([name]);
      found.push({
        name: here.join("/"),
        node,
        size: node.end - node.start,
        keys: [...new Set(keyStarts)].map((start) => hash(source.slice(start, node.end))),
      });
    }
    if (node.type === "ClassBody") for (const member of node.body) member.__classBody = node;
    for (const field of Object.keys(node)) {
      if (field === "__object" || field === "__classBody") continue;
      const value = node[field];
      if (Array.isArray(value)) {
        for (const child of value) if (child && typeof child.type === "string") visit(child, node, here);
      } else if (value && typeof value.type === "string") {
        visit(value, node, here);
      }
    }
  }
  visit(ast, null, []);
  const seen = new Map();
  for (const entry of found) {
    const count = (seen.get(entry.name) || 0) + 1;
    seen.set(entry.name, count);
    if (count > 1) entry.name += "#" + count;
  }
  return found;
}

// The body that replaces a cut function's: it raises NotImplementedError naming the function
// (`__BRYTHON__.cut_` is defined by an edit in build/runtime.py).
function stub(name) {
  return "{__BRYTHON__.cut_(" + JSON.stringify(name) + ")}";
}

function cut(source, names) {
  const functions = collect(source);
  const byName = new Map(functions.map((entry) => [entry.name, entry]));
  const twice = names.filter((name, index) => names.indexOf(name) !== index);
  if (twice.length) throw new Error(`runtime: the cut list names twice: ${twice.join(", ")}`);
  const missing = names.filter((name) => !byName.has(name));
  if (missing.length) {
    throw new Error(
      `runtime: ${missing.length} function(s) of the cut list no longer exist in brython.js ` +
        `(see docs/build.md, "Upgrading Brython"): ${missing.slice(0, 20).join(", ")}`,
    );
  }
  const edits = [];
  for (const name of names) {
    const { node } = byName.get(name);
    const body = node.body;
    if (body.type === "BlockStatement") edits.push([body.start, body.end, stub(name)]);
    else edits.push([body.start, body.end, "(" + stub(name).slice(1, -1) + ")"]);
  }
  edits.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < edits.length; i++) {
    if (edits[i][0] < edits[i - 1][1]) {
      throw new Error("runtime: the cut list names a function inside another cut function");
    }
  }
  let out = "";
  let at = 0;
  for (const [start, end, replacement] of edits) {
    out += source.slice(at, start) + replacement;
    at = end;
  }
  return out + source.slice(at);
}

function main() {
  const source = fs.readFileSync(0, "utf8");
  const [mode, file] = process.argv.slice(2);
  if (mode === "list") {
    const listed = collect(source).map(({ name, size, keys }) => ({ name, size, keys }));
    process.stdout.write(JSON.stringify(listed));
  } else if (mode === "cut") {
    const names = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .map((line) => line.replace(/(^|\s)#(\s.*)?$/, "").trim())
      .filter((line) => line);
    process.stdout.write(cut(source, names));
  } else {
    throw new Error("usage: runtime_functions.cjs list | cut CUTS_FILE");
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exit(1);
}
