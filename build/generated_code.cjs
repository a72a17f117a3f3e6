// Shrinks the JavaScript that Brython generated for each SDK module, on its syntax tree (acorn).
// Every rewrite of generated code is here (docs/build.md, "Generated code"); a shape a rewrite
// does not expect fails the build, naming the module.
//
// Input (stdin, JSON): {"line_numbers": false,
//                       "modules": [{"name": "pkg.mod", "js": "function(locals_pkg_mod){...}"}, ...]}
// (`__main__` is `function(){...}`, and is only compacted: compactGeneratedCode)
// Output (stdout, JSON): the same list of functions, rewritten.
//
// In order, per module:
// - compactGeneratedCode: what only tracebacks' carets, tracers and introspection read goes
//   (column positions, instruction numbers, line numbers in the production build...);
// - rewrite: the module's dotted name, spelt out 4-5 times per function (its frame, infos and
//   attributes), becomes a read of one variable holding the same string, declared once at the
//   top of the module's function; the minifier gives it a one-letter name. Literals that are
//   object keys stay as they are;
// - dropUnreadMethodClass: methods that use neither super() nor __class__ stop looking their
//   class up on every call;
// - mergeFunctionDefinitions: each function definition's three closing statements become one
//   `$B.def(...)` call that spells only the infos that are not the usual ones.
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

// What Brython's generated code records only for tracebacks' carets, tracers and introspection
// the SDK does not use, dropped or called in its plainer form (docs/build.md, "Facts this design
// rests on"). One pass over the tree renders each node with its rewritten children; afterwards,
// any trace of a rewritten helper that is left (a shape the rewrite did not expect) fails the build.
//   helper -> [plain helper, index of the "instruction number" argument, replacement (null: drop)]
const INUM_ARGUMENTS = {
  "$B.$call_with_position": ["$B.$call", 1, null],
  "$B.$getattr_pep657": ["$B.$getattr", 2, null],
  "$B.call_attr": ["$B.call_attr", 2, "0"],
  "$B.$getitem": ["$B.$getitem", 2, null],
  "$B.getitem_slice": ["$B.getitem_slice", 2, null],
  "$B.$setitem": ["$B.$setitem", 3, null],
  "$B.$setattr1": ["$B.$setattr1", 3, null],
  "$B.rich_op": ["$B.rich_op", 3, null],
  // the last argument of these is an instruction number too, passed on to $B.set_inum only
  // (which does nothing without one), when an import, a name lookup or an unpacking fails
  "$B.import": ["$B.import", 4, null],
  "$B.$import_from": ["$B.$import_from", 5, null],
  "$B.resolve_local": ["$B.resolve_local", 1, null],
  "$B.resolve_in_scopes": ["$B.resolve_in_scopes", 2, null],
  // $B.unpacker(iterable, targets, has_starred, [targets after the starred one,] inum)
  "$B.unpacker": ["$B.unpacker", (args) => (args[2] === "false" ? 3 : 4), null],
};
// The helpers whose instruction number is their last argument: a call with more arguments than
// that is of a shape the rewrite does not know.
const TRAILING_INUM = new Set(["$B.import", "$B.$import_from", "$B.resolve_local", "$B.resolve_in_scopes", "$B.unpacker"]);
// Texts that must not be left after compactGeneratedCode.
const LEFTOVERS = ["$B.set_lineno(", "$B.trace_line(", ".frame.inum", ".positions", "$B.INUM", "$B.js_this", "$call_with_position",
  "$getattr_pep657", "__annotate__ = _b_.None", "Object.defineProperty(locals"];

function isNumber(node) {
  return node.type === "Literal" && typeof node.value === "number";
}

// `Object.defineProperty(locals, 'name', {get: function(){return x}, set: function(){},
// enumerable: true, configurable: true})`: a nested function's mirror of a free variable.
function isFreeVariableMirror(text, call) {
  if (text(call.callee) !== "Object.defineProperty" || call.arguments.length !== 3) return false;
  const [target, key, descriptor] = call.arguments;
  if (text(target) !== "locals" || key.type !== "Literal" || descriptor.type !== "ObjectExpression") return false;
  const props = descriptor.properties.map((p) => [p.key.name, text(p.value)]);
  const shape = props.map(([k]) => k).join(",");
  if (shape !== "get,set,enumerable,configurable") return false;
  const get = descriptor.properties[0].value;
  return (
    get.type === "FunctionExpression" && get.body.body.length === 1 && get.body.body[0].type === "ReturnStatement" &&
    props[1][1].replace(/\s/g, "") === "function(){}" && props[2][1] === "true" && props[3][1] === "true"
  );
}

function compactGeneratedCode(name, js, lineNumbers) {
  const source = "(" + js + ")";
  const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: "script" });
  const text = (node) => source.slice(node.start, node.end);
  const setLineno = (call) =>
    call.type === "CallExpression" && text(call.callee) === "$B.set_lineno" &&
    (call.arguments.length === 2 || (call.arguments.length === 3 && call.arguments[2].value === "ClassDef")) &&
    text(call.arguments[0]) === "frame" && isNumber(call.arguments[1]);
  // identifiers by name, and the statements of statement lists (a `var` there can go whole)
  const uses = new Map();
  const statements = new Set();
  // each function's name, from `f.$function_infos = [module, "name", ...]`, and the arrays that
  // are the value of `var frame = [...]`
  const functionNames = new Map();
  const frames = new Set();
  (function walk(node) {
    if (node.type === "Identifier") uses.set(node.name, (uses.get(node.name) || 0) + 1);
    if (node.type === "AssignmentExpression" && node.left.type === "MemberExpression" && !node.left.computed &&
        node.left.property.name === "$function_infos" && node.left.object.type === "Identifier" &&
        node.right.type === "ArrayExpression" && node.right.elements[1]?.type === "Literal") {
      functionNames.set(node.left.object.name, node.right.elements[1].value);
    }
    if (node.type === "VariableDeclarator" && node.id.name === "frame" && node.init?.type === "ArrayExpression") {
      frames.add(node.init);
    }
    for (const list of [node.body, node.consequent]) if (Array.isArray(list)) list.forEach((s) => statements.add(s));
    children(node, walk);
  })(ast);
  function rewritten(node) {
    if (node.type === "ArrayExpression" && node.elements.length === 5 && node.elements[4]?.type === "Identifier" &&
        node.elements[0]?.type === "Literal" && frames.has(node)) {
      // `var frame = ["name", locals, module, globals, f]`: the runtime names the frame after
      // `f` (an edit of $B.enter_frame in build/runtime_edits.cjs); the name must be f's own
      const f = node.elements[4].name;
      if (functionNames.get(f) !== node.elements[0].value) {
        throw new Error(`generated code of ${name}: the frame of ${f} is named ${text(node.elements[0])}, ` +
          `its infos say ${functionNames.get(f)}`);
      }
      return `[, ${node.elements.slice(1).map(render).join(", ")}]`;
    }
    if (!lineNumbers && node.type === "CallExpression" &&
        ["$B.enter_frame", "$B.make_js_iterator"].includes(text(node.callee)) && node.arguments.length === 3) {
      // the production build records no line: the frame's line stays undefined
      // $B.enter_frame(frame, __file__, N), $B.make_js_iterator(iterable, frame, N)
      const [first, second, line] = node.arguments;
      const frameAt = text(node.callee) === "$B.enter_frame" ? first : second;
      if (!isNumber(line) || text(frameAt) !== "frame") {
        throw new Error(`generated code of ${name}: unexpected call ${text(node).slice(0, 200)}`);
      }
      return `${text(node.callee)}(${render(first)}, ${render(second)})`;
    }
    if (node.type === "VariableDeclaration" && statements.has(node) && node.declarations.length === 1) {
      // `var _frame_obj = $B.frame_obj`, `var stack_length = $B.count_frames()`: reads kept for
      // an exception handler that, here, does not use them (the name is read nowhere)
      const { id, init } = node.declarations[0];
      if (id.type === "Identifier" && init && ["$B.frame_obj", "$B.count_frames()"].includes(text(init)) &&
          uses.get(id.name) === 1) {
        return ";";
      }
    }
    if (node.type === "IfStatement" && text(node.test) === "frame.$f_trace !== _b_.None" && !node.alternate &&
        node.consequent.type === "BlockStatement" && node.consequent.body.length === 1 &&
        text(node.consequent.body[0]).replace(/;$/, "") === "$B.trace_line()") {
      return ";"; // a tracer's hook: sys.settrace is not in this runtime (build/runtime_cuts.txt)
    }
    if (node.type === "ExpressionStatement") {
      // a class's `__static_attributes__` (the names its methods assign on self): introspection
      // only, left out of the production build
      if (!lineNumbers && /^locals\.__static_attributes__ = \$B\.fast_tuple\(\[[^\]]*\]\)$/.test(text(node).replace(/;$/, ""))) {
        return ";";
      }
      // the instruction number of a class statement, for carets the build drops
      if (/^\$B\.frame_obj\.frame\.inum = \d+$/.test(text(node).replace(/;$/, ""))) return ";";
      const e = node.expression;
      if (e.type === "AssignmentExpression" && e.operator === "=" && e.left.type === "MemberExpression") {
        const target = text(e.left);
        // frame.positions = [[line, col, len], ...]: the columns of every expression, for carets
        if (target === "frame.positions" && e.right.type === "ArrayExpression") return ";";
        // iterator[$B.INUM] = 3: an instruction number, for errors raised while iterating
        if (e.left.computed && text(e.left.property) === "$B.INUM" && isNumber(e.right)) return ";";
        // read only by javascript.this(), which the runtime makes raise
        if (target === "$B.js_this" && e.right.type === "ThisExpression") return ";";
        // what the runtime assumes when it is absent (an edit in runtime.py)
        if (!e.left.computed && e.left.property.name === "__annotate__" && text(e.right) === "_b_.None") return ";";
      }
      if (e.type === "CallExpression" && isFreeVariableMirror(text, e)) return ";";
      // a statement of its own: Brython's code leans on automatic semicolons, so `;` stays
      if (setLineno(e)) return lineNumbers ? `;frame.$lineno = ${e.arguments[1].value}` : ";";
      // `frame.$lineno = N` (a `for` statement's line, a generator expression's first line)
      if (!lineNumbers && e.type === "AssignmentExpression" && text(e.left) === "frame.$lineno" && isNumber(e.right)) return ";";
    }
    if (setLineno(node)) {
      // in a condition `set_lineno(...) && test`: set_lineno returns true
      return lineNumbers ? `(frame.$lineno = ${node.arguments[1].value})` : "true";
    }
    if (node.type === "CallExpression" && Object.hasOwn(INUM_ARGUMENTS, text(node.callee))) {
      const [plain, at, replacement] = INUM_ARGUMENTS[text(node.callee)];
      const index = typeof at === "function" ? at(node.arguments.map(text)) : at;
      const args = node.arguments.map(render);
      if (node.arguments.length <= index || !isNumber(node.arguments[index]) ||
          (TRAILING_INUM.has(text(node.callee)) && node.arguments.length !== index + 1)) {
        throw new Error(`generated code of ${name}: unexpected call ${text(node).slice(0, 200)}`);
      }
      if (replacement === null) args.splice(index, 1);
      else args[index] = replacement;
      return `${plain}(${args.join(", ")})`;
    }
    if (node.type === "CallExpression" && text(node.callee) === "_b_.dict.$literal") {
      // ['k', v, 7286598349252771]: a str key's precomputed hash, 16 digits that do not
      // compress; the runtime stores str keys without one and computes it when it needs it
      // with `**other`, the items are a chain `first.concat(second)...`, each an array of items
      // (`[['k', v, hash]]`) or the other mapping's items
      if (node.arguments.length !== 1) {
        throw new Error(`generated code of ${name}: unexpected dict display ${text(node).slice(0, 200)}`);
      }
      const parts = [];
      let chain = node.arguments[0];
      while (
        chain.type === "CallExpression" && chain.callee.type === "MemberExpression" && !chain.callee.computed &&
        chain.callee.property.name === "concat" && chain.arguments.length === 1
      ) {
        parts.unshift(chain.arguments[0]);
        chain = chain.callee.object;
      }
      parts.unshift(chain);
      if (parts.length === 1 && chain.type !== "ArrayExpression") {
        throw new Error(`generated code of ${name}: unexpected dict display ${text(node).slice(0, 200)}`);
      }
      const rendered = parts.map((part) => {
        if (part.type !== "ArrayExpression") return render(part);
        const items = part.elements.map((item) => {
          if (item.type === "ArrayExpression" && item.elements.length === 3) {
            const [key, value, hash] = item.elements;
            if (!isNumber(hash)) throw new Error(`generated code of ${name}: unexpected dict item ${text(item)}`);
            if (key.type === "Literal" && typeof key.value === "string") return `[${render(key)}, ${render(value)}]`;
          }
          return render(item);
        });
        return `[${items.join(", ")}]`;
      });
      return `_b_.dict.$literal(${rendered[0]}${rendered.slice(1).map((part) => `.concat(${part})`).join("")})`;
    }
    return null;
  }
  function render(node) {
    const replaced = rewritten(node);
    if (replaced !== null) return replaced;
    const kids = [];
    children(node, (child) => kids.push(child));
    kids.sort((a, b) => a.start - b.start);
    let out = "";
    let at = node.start;
    for (const child of kids) {
      if (child.start < at) continue; // a shorthand property's key and value are one text
      out += source.slice(at, child.start) + render(child);
      at = child.end;
    }
    return out + source.slice(at, node.end);
  }
  const out = render(ast.body[0].expression);
  const lineLeft = lineNumbers ? null : /frame\.\$lineno = \d|\$B\.enter_frame\([^()]*\d\)/.exec(out);
  if (lineLeft) {
    throw new Error(`generated code of ${name}: a line number of an unexpected shape: ${out.slice(lineLeft.index - 80, lineLeft.index + 120)}`);
  }
  for (const leftover of LEFTOVERS) {
    if (out.includes(leftover)) {
      const at = out.indexOf(leftover);
      throw new Error(`generated code of ${name}: ${leftover} of an unexpected shape: ${out.slice(at - 80, at + 120)}`);
    }
  }
  return out;
}

// `$B.set_function(f, frame, infos)` carries the function's 20 infos (module, name, qualname,
// file, defaults, kwdefaults, doc, arg names, *args, **kwargs, positional count, first line,
// flags, free variables, keyword-only count, positional-only count, local names, annotations,
// type parameters, the defining frame), most of them the same in every function. It becomes
//   $B.def(f, frame, module, file, line, name, [arg names], [other local names], qualname prefix,
//          [free variables], {index: value of an infos item that is not the usual one})
// with trailing arguments left out when they are the usual ones (`0` stands for one in the
// middle). `$B.def` (build/boot.js) rebuilds the same array; `expandDefinition` below is its
// twin, and each rewrite is checked against it.
const INFOS_LENGTH = 20;
const USUAL = { 4: "_b_.None", 5: "_b_.None", 6: "_b_.None", 8: "null", 9: "null", 12: "3", 14: "0", 15: "0", 17: "false", 18: "[]" };

function stringItems(source, node) {
  if (node.type !== "ArrayExpression") return null;
  const items = [];
  for (const item of node.elements) {
    if (!item || item.type !== "Literal" || typeof item.value !== "string") return null;
    items.push(source.slice(item.start, item.end));
  }
  return items;
}

// The text of `$B.def(...)` for `$B.set_function(fn, frame, [infos])`, or an Error saying why not.
function compactDefinition(source, fn, frame, infosNode, lineNumbers) {
  const text = (node) => source.slice(node.start, node.end);
  const infos = infosNode.elements;
  if (infos.length !== INFOS_LENGTH || infos.some((item) => !item || item.type === "SpreadElement")) {
    return new Error(`${INFOS_LENGTH} infos expected`);
  }
  const [name, qualname, line] = [infos[1], infos[2], infos[11]];
  if (name.type !== "Literal" || typeof name.value !== "string") return new Error("a name that is not a string");
  if (qualname.type !== "Literal" || typeof qualname.value !== "string") return new Error("a qualname that is not a string");
  if (line.type !== "Literal" || typeof line.value !== "number") return new Error("a line that is not a number");
  const args = stringItems(source, infos[7]);
  const locals = stringItems(source, infos[16]);
  const free = stringItems(source, infos[13]);
  if (!args || !locals || !free) return new Error("names that are not string literals");
  const rare = [];
  for (const [index, usual] of Object.entries(USUAL)) {
    if (text(infos[index]) !== usual) rare.push(`${index}: ${text(infos[index])}`);
  }
  if (text(infos[10]) !== String(args.length)) rare.push(`10: ${text(infos[10])}`);
  let prefix = "0";
  if (qualname.value !== name.value) {
    if (qualname.value.endsWith(name.value)) {
      prefix = JSON.stringify(qualname.value.slice(0, qualname.value.length - name.value.length));
    } else {
      rare.push(`2: ${text(qualname)}`);
    }
  }
  let more = "0";
  if (args.every((arg, i) => arg === locals[i])) {
    if (locals.length > args.length) more = `[${locals.slice(args.length).join(",")}]`;
  } else {
    rare.push(`16: ${text(infos[16])}`);
  }
  const call = [fn, frame, text(infos[0]), text(infos[3]), lineNumbers ? String(line.value) : "0", text(name), `[${args.join(",")}]`, more, prefix,
    free.length ? `[${free.join(",")}]` : "0", rare.length ? `{${rare.join(", ")}}` : "0"];
  while (call[call.length - 1] === "0") call.pop();
  // what $B.def rebuilds from these arguments must be the infos, item for item
  const rebuilt = expandDefinition(call.slice(2)).map((item) => item.replace(/\s+/g, " "));
  const original = infos.map((item) => text(item).replace(/\s+/g, " "));
  original[19] = frame; // $B.def's frame is its second argument
  // the production build leaves the first line out (co_firstlineno, read by nothing but
  // `f.__code__`: tracebacks take each frame's line from $B.enter_frame)
  if (!lineNumbers) original[11] = "0";
  if (text(infos[19]) !== frame || JSON.stringify(rebuilt) !== JSON.stringify(original)) {
    return new Error(`infos not rebuilt: ${JSON.stringify(rebuilt)} != ${JSON.stringify(original)}`);
  }
  return `$B.def(${call.join(", ")})`;
}

// $B.def's infos, as the texts of their JS expressions: the twin of build/boot.js's $B.def.
function expandDefinition([module, file, line, name, args, more, prefix, free, rare]) {
  const items = (array) => (array && array !== "0" ? array.slice(1, -1).split(",").filter(Boolean) : []);
  const infos = [module, name, prefix && prefix !== "0" ? `'${JSON.parse(prefix)}${name.slice(1, -1)}'` : name, file,
    "_b_.None", "_b_.None", "_b_.None", args, "null", "null", String(items(args).length), line, "3",
    `[${items(free).join(",")}]`, "0", "0", `[${[...items(args), ...items(more)].join(",")}]`, "false", "[]", "frame"];
  if (rare && rare !== "0") {
    // {index: text, ...}: split at the top-level ", N: " separators
    for (const part of rare.slice(1, -1).split(/, (?=\d+: )/)) {
      const colon = part.indexOf(": ");
      infos[Number(part.slice(0, colon))] = part.slice(colon + 2);
    }
  }
  return infos;
}

// Every function definition ends with three statements:
//   f.$function_infos = [module, name, ...]
//   $B.set_func_attrs(f, frame, module)
//   f.ob_type = $B.function
// They become one call of `$B.set_function(f, frame, [module, name, ...])`, which does the same
// (an edit in build/runtime.py defines it). Definitions nested in a definition's infos (a lambda
// as a default value) are rewritten first, in an earlier round.
function mergeFunctionDefinitions(js, lineNumbers) {
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
          const definition = compactDefinition(
            source, infos[0], source.slice(frame.start, frame.end), infos[1], lineNumbers);
          if (definition instanceof Error) {
            throw new Error(`function ${infos[0]}: infos of an unexpected shape (${definition.message})`);
          }
          found.push({ start: list[i].start, end: list[i + 2].end, text: definition });
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

// Every method starts with `locals.ob_type = locals.__class__ = $B.get_method_class(...)`, on
// every call: the class, for `super()` without arguments (which reads `ob_type` of the frame's
// locals) and for the name `__class__`. A method whose code (nested functions included) spells
// neither `super` nor `__class__` reads neither, and the statement goes.
function dropUnreadMethodClass(name, js) {
  const source = "(" + js + ")";
  const ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: "script" });
  const drops = [];
  let seen = 0;
  (function visit(node, fn) {
    if (node.type === "FunctionDeclaration" || node.type === "FunctionExpression") fn = node;
    if (node.type === "ExpressionStatement") {
      const e = node.expression;
      const inner = e.type === "AssignmentExpression" && e.right.type === "AssignmentExpression" ? e.right : null;
      if (
        inner &&
        source.slice(e.left.start, e.left.end) === "locals.ob_type" &&
        source.slice(inner.left.start, inner.left.end) === "locals.__class__" &&
        inner.right.type === "CallExpression" &&
        source.slice(inner.right.callee.start, inner.right.callee.end) === "$B.get_method_class"
      ) {
        seen += 1;
        const rest = source.slice(fn.start, node.start) + source.slice(node.end, fn.end);
        if (!/super|__class__/.test(rest)) drops.push([node.start, node.end]);
      }
    }
    children(node, (child) => visit(child, fn));
  })(ast, null);
  if (seen !== source.split("$B.get_method_class(").length - 1) {
    throw new Error(`generated code of ${name}: a get_method_class statement of an unexpected shape`);
  }
  let out = "";
  let at = 0;
  for (const [start, end] of drops) {
    out += source.slice(at, start);
    at = end;
  }
  return (out + source.slice(at)).slice(1, -1);
}

function main() {
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = request.modules.map(({ name, js }) => {
    const compact = compactGeneratedCode(name, js, request.line_numbers);
    if (name === "__main__") return compact; // a function body of its own (bundle.py)
    const renamed = dropUnreadMethodClass(name, rewrite(name, compact));
    if (!renamed.includes("$B.set_func_attrs(")) return renamed;
    const merged = mergeFunctionDefinitions(renamed, request.line_numbers);
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
