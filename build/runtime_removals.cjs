// Removes whole parts of the runtime that the SDK never reaches, on its syntax tree (acorn),
// after the functions the SDK never calls were cut (build/runtime_functions.cjs). docs/build.md,
// "Parts of the runtime the SDK never reaches", says why each one goes and what raises instead.
//
//   node runtime_removals.cjs < runtime.js -> the runtime without them
//
// Each removal names what it expects to find: a statement declaring or assigning a name, found
// exactly once in the runtime, or the build fails naming it (a Brython upgrade that moved it
// must be looked at again, docs/build.md "Upgrading Brython").
"use strict";
const fs = require("fs");
const acorn = require("acorn");

function parse(source) {
  return acorn.parse(source, { ecmaVersion: 2022, sourceType: "script" });
}

function text(source, node) {
  return source.slice(node.start, node.end).replace(/\s+/g, "");
}

// The names a statement defines: `function f`, `var f=...`, `a.b=...` (the first of a chain
// `a=b=...`), as written without spaces.
function definedNames(source, statement) {
  if (statement.type === "FunctionDeclaration") return [statement.id.name];
  if (statement.type === "VariableDeclaration") {
    return statement.declarations.map((declarator) => text(source, declarator.id));
  }
  if (statement.type === "ExpressionStatement" && statement.expression.type === "AssignmentExpression") {
    return [text(source, statement.expression.left)];
  }
  return [];
}

// Every statement list of the runtime: the top level, and the body of every function or block.
function statementLists(ast) {
  const lists = [];
  (function visit(node) {
    if (!node || typeof node.type !== "string") return;
    if (node.type === "Program" || node.type === "BlockStatement") lists.push(node.body);
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (Array.isArray(value)) for (const child of value) visit(child);
      else if (value && typeof value.type === "string") visit(value);
    }
  })(ast);
  return lists;
}

// The one statement list holding a statement that defines `name`, and that statement's index.
function findDefinition(source, ast, name, why) {
  const found = [];
  for (const list of statementLists(ast)) {
    list.forEach((statement, index) => {
      if (definedNames(source, statement).includes(name)) found.push([list, index]);
    });
  }
  if (found.length !== 1) {
    throw new Error(
      `runtime: expected one statement defining '${name}' (${why}), found ${found.length}: ` +
        `see docs/build.md, "Upgrading Brython"`,
    );
  }
  return found[0];
}

// Replaces the statements from the one defining `from` to the one defining `to` (in the same
// statement list), except those defining a name of `keep`, by `replacement`.
function replaceRange(source, { why, from, to, keep = [], replacement }) {
  const ast = parse(source);
  const [list, first] = findDefinition(source, ast, from, why);
  const [otherList, last] = findDefinition(source, ast, to, why);
  if (otherList !== list || last < first) {
    throw new Error(`runtime: '${from}' and '${to}' are not in order in one block (${why})`);
  }
  const kept = [];
  for (const name of keep) {
    const [keptList, index] = findDefinition(source, ast, name, why);
    if (keptList !== list || index < first || index > last) {
      throw new Error(`runtime: '${name}' is not between '${from}' and '${to}' (${why})`);
    }
    kept.push(source.slice(list[index].start, list[index].end));
  }
  const start = list[first].start;
  const end = list[last].end;
  return source.slice(0, start) + kept.join("\n") + "\n" + replacement + source.slice(end);
}

function escapeRegExp(value) {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Fails unless `name` occurs nowhere in `source` but in the statements of `removed`
// ([start, end] offsets): what nothing names, nothing can reach.
function checkUnnamed(source, name, removed, why) {
  const word = new RegExp("(?<![\\w$])" + escapeRegExp(name) + "(?![\\w$])", "g");
  for (const match of source.matchAll(word)) {
    if (!removed.some(([start, end]) => match.index >= start && match.index < end)) {
      throw new Error(`runtime: '${name}' is still named in the runtime (${why}): ` +
        source.slice(Math.max(0, match.index - 60), match.index + 40).replace(/\n/g, " "));
    }
  }
}

// The statements of a top-level `(function(...){...})(...)`: one file of brython.js.
function fileBody(statement) {
  const call = statement.type === "ExpressionStatement" && statement.expression;
  if (!call || call.type !== "CallExpression" || call.callee.type !== "FunctionExpression") return null;
  return call.callee.body.body;
}

function applyEdits(source, edits) {
  edits.sort((a, b) => b[0] - a[0]);
  let out = source;
  for (const [start, end, replacement] of edits) out = out.slice(0, start) + replacement + out.slice(end);
  return out;
}

// Removes the `init_type($B, "NAME", [...])` rows of the builtin types' table for internal
// types that nothing in the runtime names (CPython's test and internal types that Brython lists
// but never implements): no Python code can reach them, and each cost a finalize_type at start.
function dropInternalTypes(source, { why, names }) {
  const ast = parse(source);
  const rows = new Map();
  for (const list of statementLists(ast)) {
    for (const statement of list) {
      const call = statement.type === "ExpressionStatement" && statement.expression;
      if (!call || call.type !== "CallExpression" || call.callee.type !== "Identifier") continue;
      if (call.callee.name !== "init_type" || call.arguments.length !== 3) continue;
      const [namespace, name] = call.arguments;
      if (namespace.type !== "Identifier" || namespace.name !== "$B" || name.type !== "Literal") continue;
      if (rows.has(name.value)) throw new Error(`runtime: two rows for the type '${name.value}'`);
      rows.set(name.value, statement);
    }
  }
  const edits = [];
  for (const name of names) {
    const row = rows.get(name);
    if (!row) throw new Error(`runtime: no row for the internal type '${name}' (${why})`);
    edits.push([row.start, row.end, ""]);
  }
  const removed = edits.map(([start, end]) => [start, end]);
  for (const name of names) checkUnnamed(source, name, removed, why);
  return applyEdits(source, edits);
}

// Removes a `$B.NAME = {...}` that nothing reads, at the top level or, with `inFile`, in the body of
// the IIFE around one file of brython.js (`void 0` keeps the count of top-level statements that
// build/runtime_parts.cjs checks; the minifier drops it).
function dropUnread(source, { why, name, inFile = false }) {
  const ast = parse(source);
  const [list, index] = findDefinition(source, ast, name, why);
  const where = inFile ? ast.body.map(fileBody).filter(Boolean) : [ast.body];
  if (!where.includes(list)) {
    throw new Error(`runtime: '${name}' is not defined at the top level${inFile ? " of a file" : ""} (${why})`);
  }
  const statement = list[index];
  checkUnnamed(source, name.split(".").pop(), [[statement.start, statement.end]], why);
  return applyEdits(source, [[statement.start, statement.end, "void 0"]]);
}

// Drops every `console.log(...)` whose value is not used: Brython's own debugging output (what
// it logs just before raising, or in branches of `if(test)`), never the program's (print() and
// sys.stdout write with console[out], not console.log).
function dropConsoleLog(source) {
  const ast = parse(source);
  const edits = [];
  (function visit(node, parent) {
    if (!node || typeof node.type !== "string") return;
    const isLog =
      node.type === "CallExpression" &&
      node.callee.type === "MemberExpression" &&
      !node.callee.computed &&
      node.callee.object.type === "Identifier" &&
      node.callee.object.name === "console" &&
      node.callee.property.name === "log";
    if (isLog && parent.type === "ExpressionStatement") {
      edits.push([parent.start, parent.end, ";"]);
      return;
    }
    if (isLog && parent.type === "SequenceExpression" && parent.expressions.at(-1) !== node) {
      edits.push([node.start, node.end, "0"]);
      return;
    }
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (Array.isArray(value)) for (const child of value) visit(child, node);
      else if (value && typeof value.type === "string") visit(value, node);
    }
  })(ast, null);
  if (edits.length === 0) throw new Error("runtime: no console.log call found: is this Brython 3.15?");
  return applyEdits(source, edits);
}

// The removals, in order. Each says why in `why` (error messages) and in docs/build.md.
const REMOVALS = [
  {
    // list.sort() of ints or strs without a key ran Brython's own TimSort (5.5 KB minified);
    // every other sort already used the JS engine's Array.prototype.sort, which is stable too
    // (ECMAScript 2019). The comparators may return a BigInt (two big ints): normalised to -1/0/1.
    why: "Brython's TimSort: list.sort uses the JS engine's stable sort",
    from: "DEFAULT_MIN_MERGE",
    to: "$B.$TimSort",
    keep: ["POWERS_OF_TEN", "log10", "alphabeticalCompare"],
    replacement:
      "$B.$TimSort=function(array,compare){array.sort(function(a,b){var order=compare(a,b)\n" +
      "return order<0?-1:order>0?1:0})}",
  },
];

// Internal types of the builtin types' table that nothing in the runtime names.
const INTERNAL_TYPES = {
  why: "internal types that Brython lists but never implements",
  names: [
    "EncodingMap", "FrameLocalsProxy", "Generic", "InstructionSequence", "MethClass",
    "MethInstance", "MethStatic", "NoDefaultType", "PyCapsule", "_buffer_wrapper",
    "anext_awaitable", "async_generator_asend", "async_generator_athrow",
    "async_generator_wrapped_value", "awaitType", "bytearray_iterator", "bytes_iterator",
    "coroutine_wrapper", "fieldnameiterator", "formatteriterator", "generic_alias_iterator",
    "hamt", "hamt_array_node", "hamt_bitmap_node", "hamt_collision_node",
    "hashinheritancetester", "instancemethod", "ipowType", "line_iterator",
    "longrange_iterator", "managedbuffer", "matmulType", "memory_iterator", "moduledef",
    "odict_iterator", "positions_iterator", "stderrprinter", "str_ascii_iterator",
    "symtable_entry", "testBufType", "test_structmembersType_OldAPI", "uop_executor",
    "MethodDescriptor2", "MethodDescriptorDerived", "MethodDescriptorNopGet", "MyList",
    "UnraisableHookArgs", "asyncgen_hooks", "odict_items", "odict_keys", "odict_values",
    "RecursingInfinitelyError",
  ],
};

// Unicode tables that nothing reads (the functions that did were cut: str.casefold...).
const UNREAD = [
  { why: "Unicode digit and numeric tables, read by nothing", name: "$B.unicode" },
  { why: "Unicode case folding table, read only by the cut str.casefold", name: "$B.unicode_casefold" },
  {
    // The %-formatting's float conversions (%f, %e, %g) put in $B for nothing that reads them:
    // with $B.printf_format cut, this table alone kept them and their helpers in the bundle.
    why: "the float conversions of %-formatting, read by nothing",
    name: "$B.formatters",
    inFile: true,
  },
];

function main() {
  let source = fs.readFileSync(0, "utf8");
  for (const removal of REMOVALS) source = replaceRange(source, removal);
  source = dropInternalTypes(source, INTERNAL_TYPES);
  for (const removal of UNREAD) source = dropUnread(source, removal);
  source = dropConsoleLog(source);
  parse(source); // the result must still be JavaScript
  process.stdout.write(source);
}

try {
  main();
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exit(1);
}
