// Shrinks the JavaScript that Brython generated for each SDK module, on its syntax tree (acorn).
//
// Input (stdin, JSON): [{"name": "pkg.mod", "js": "function(locals_pkg_mod){...}"}, ...]
// Output (stdout, JSON): the same list of functions, rewritten.
//
// Generated code spells its module's dotted name out in every function's frame, function infos
// and attributes (`"allegro_sdk.core.session"`, 4-5 times per function). Each such string
// literal becomes a read of one variable holding the same string, declared once at the top of the
// module's function; the minifier then gives that variable a one-letter name. A JS string is a
// value, so the code does exactly what it did. Literals that are object keys stay as they are.
// Each function definition's three closing statements become one call (mergeFunctionDefinitions).
"use strict";
const fs = require("fs");
const acorn = require("acorn");

const NAME_VARIABLE = "$module_name";

function rewrite(name, js) {
  // the module's function is an expression: parse it as one
  const prefix = "(";
  const source = prefix + js + ")";
  const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: "script" });
  const fn = ast.body[0].expression;
  if (fn.type !== "FunctionExpression") throw new Error(`module ${name}: not a function`);
  if (source.includes(NAME_VARIABLE)) throw new Error(`module ${name}: already uses ${NAME_VARIABLE}`);
  const spans = [];
  (function visit(node, parent) {
    if (
      node.type === "Literal" &&
      node.value === name &&
      !(parent && parent.type === "Property" && parent.key === node && !parent.computed) &&
      !(parent && parent.type === "MethodDefinition" && parent.key === node)
    ) {
      spans.push([node.start, node.end]);
    }
    for (const field of Object.keys(node)) {
      const value = node[field];
      if (Array.isArray(value)) {
        for (const child of value) if (child && typeof child.type === "string") visit(child, node);
      } else if (value && typeof value.type === "string") {
        visit(value, node);
      }
    }
  })(fn, null);
  let out = "";
  let at = fn.body.start + 1; // just after the function body's `{`
  out = source.slice(fn.start, at) + `\nvar ${NAME_VARIABLE} = ${JSON.stringify(name)};`;
  for (const [start, end] of spans) {
    out += source.slice(at, start) + NAME_VARIABLE;
    at = end;
  }
  return out + source.slice(at, fn.end);
}

function children(node, callback) {
  for (const field of Object.keys(node)) {
    const value = node[field];
    if (Array.isArray(value)) {
      for (const child of value) if (child && typeof child.type === "string") callback(child);
    } else if (value && typeof value.type === "string") {
      callback(value);
    }
  }
}

// `f.X = value` as a statement: [f's text, value node], else null.
function assignment(source, statement, property) {
  if (!statement || statement.type !== "ExpressionStatement") return null;
  const e = statement.expression;
  if (e.type !== "AssignmentExpression" || e.operator !== "=") return null;
  if (e.left.type !== "MemberExpression" || e.left.computed) return null;
  if (e.left.property.name !== property || e.left.object.type !== "Identifier") return null;
  return [e.left.object.name, e.right];
}

// Every function definition ends with three statements:
//   f.$function_infos = [module, name, ...]
//   $B.set_func_attrs(f, frame, module)
//   f.ob_type = $B.function
// They become one call of `$B.set_function(f, frame, [module, name, ...])`, which does the same
// (an edit in build/runtime.py defines it). Definitions nested in a definition's infos (a lambda
// as a default value) are rewritten first, in an earlier round.
function mergeFunctionDefinitions(js) {
  let source = "(" + js + ")"; // the module's function is an expression
  let rounds = 0;
  for (;;) {
    const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: "script" });
    const found = [];
    (function visit(node) {
      for (const list of [node.body, node.consequent]) {
        if (!Array.isArray(list)) continue;
        for (let i = 0; i + 2 < list.length; i++) {
          const infos = assignment(source, list[i], "$function_infos");
          if (!infos || infos[1].type !== "ArrayExpression" || !infos[1].elements.length) continue;
          const call = list[i + 1].type === "ExpressionStatement" && list[i + 1].expression;
          if (!call || call.type !== "CallExpression" || call.arguments.length !== 3) continue;
          if (source.slice(call.callee.start, call.callee.end) !== "$B.set_func_attrs") continue;
          const [fn, frame, module] = call.arguments;
          if (fn.type !== "Identifier" || fn.name !== infos[0]) continue;
          const first = infos[1].elements[0];
          if (source.slice(module.start, module.end) !== source.slice(first.start, first.end)) continue;
          const type = assignment(source, list[i + 2], "ob_type");
          if (!type || type[0] !== infos[0] || source.slice(type[1].start, type[1].end) !== "$B.function") {
            continue;
          }
          found.push({
            start: list[i].start,
            end: list[i + 2].end,
            text:
              `$B.set_function(${infos[0]}, ${source.slice(frame.start, frame.end)}, ` +
              `${source.slice(infos[1].start, infos[1].end)})`,
          });
        }
      }
      children(node, visit);
    })(ast);
    if (!found.length) {
      return source.slice(1, -1);
    }
    const innermost = found.filter(
      (outer) => !found.some((inner) => inner !== outer && inner.start >= outer.start && inner.end <= outer.end),
    );
    innermost.sort((a, b) => a.start - b.start);
    let out = "";
    let at = 0;
    for (const edit of innermost) {
      out += source.slice(at, edit.start) + edit.text;
      at = edit.end;
    }
    source = out + source.slice(at);
    rounds += 1;
  }
}

function main() {
  const modules = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = modules.map(({ name, js }) => {
    const renamed = rewrite(name, js);
    if (!renamed.includes("$B.set_func_attrs(")) return renamed;
    const merged = mergeFunctionDefinitions(renamed);
    if (merged.includes("$B.set_func_attrs(")) {
      throw new Error(`generated code of ${name}: a function definition of an unexpected shape`);
    }
    return merged;
  });
  process.stdout.write(JSON.stringify(out));
}

try {
  main();
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exit(1);
}
