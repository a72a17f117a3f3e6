// Cuts the patched runtime into parts that the boot runs one slice at a time (docs/build.md).
//
// Input (stdin): the runtime's source (brython.js after build/runtime.py's edits), a sequence
// of top-level statements, almost all of them one IIFE per source file of brython.js.
// Output (stdout): a JS expression, a strict-mode function's result:
//   {parts: [function(){...statements...}, ...], brython: function(){return __BRYTHON__}}
// Top-level `var` declarations (__BRYTHON__, $B, docs) become variables of that function, shared by
// the parts; a statement of another kind that would declare something fails the build loudly.
"use strict";
const fs = require("fs");
const acorn = require("acorn");

const PART_BYTES = 3000; // statements are grouped until a part holds this much source

// The sizes that group statements into parts: those of the runtime before the functions the SDK
// never calls were cut (argv[2], build/runtime_functions.cjs), so that cutting them does not
// merge two files' start-up work into one part (one longer task).
function groupingSizes(count) {
  if (!process.argv[2]) return null;
  const uncut = fs.readFileSync(process.argv[2], "utf8");
  const sizes = acorn
    .parse(uncut, { ecmaVersion: 2022, sourceType: "script" })
    .body.filter((node) => node.type !== "EmptyStatement" && !(node.type === "ExpressionStatement" && node.directive))
    .map((node) => node.end - node.start);
  if (sizes.length !== count) {
    throw new Error(`runtime: ${count} top-level statements after the cuts, ${sizes.length} before`);
  }
  return sizes;
}

function main() {
  const source = fs.readFileSync(0, "utf8");
  const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: "script" });
  const hoisted = [];
  const statements = [];
  for (const node of ast.body) {
    let text = source.slice(node.start, node.end);
    if (node.type === "VariableDeclaration") {
      for (const declarator of node.declarations) {
        if (declarator.id.type !== "Identifier" || !declarator.init) {
          throw new Error(`runtime: top-level declaration without a plain name and value: ${text.slice(0, 80)}`);
        }
        hoisted.push(declarator.id.name);
      }
      // `var a=x, b=y` becomes the expression `a=x, b=y`: the names are declared once, above.
      text = source.slice(node.declarations[0].start, node.end);
      if (!text.trimEnd().endsWith(";")) text += ";";
    } else if (node.type === "FunctionDeclaration" || node.type === "ClassDeclaration") {
      throw new Error(`runtime: unexpected top-level ${node.type} ${node.id && node.id.name}`);
    } else if (node.type === "EmptyStatement") {
      continue;
    } else if (node.type === "ExpressionStatement" && node.directive) {
      continue; // "use strict" lines of the concatenated files: the whole factory is strict
    }
    statements.push(text);
  }
  if (!hoisted.includes("__BRYTHON__")) {
    throw new Error("runtime: no top-level `var __BRYTHON__`: is this Brython 3.15?");
  }
  const sizes = groupingSizes(statements.length) || statements.map((text) => text.length);
  const parts = [];
  let current = [];
  let size = 0;
  for (const [index, text] of statements.entries()) {
    current.push(text);
    size += sizes[index];
    if (size >= PART_BYTES) {
      parts.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length) parts.push(current);
  const names = [...new Set(hoisted)].join(", ");
  const out =
    "(function(){\n'use strict';\n" +
    `var ${names};\n` +
    "return {parts: [\n" +
    parts.map((texts) => "function(){\n" + texts.join("\n") + "\n}").join(",\n") +
    "\n], brython: function(){ return __BRYTHON__; }};\n})()";
  process.stdout.write(out);
}

try {
  main();
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exit(1);
}
