// Turns PyPI's brython.js into the bundle's runtime by edits on its syntax tree (acorn):
// private, without the compiler, without eval() or Function(), without the parts the SDK never
// reaches (docs/build.md, "Patch the runtime"). Called by build/runtime.py.
//
//   node runtime_edits.cjs patch < brython.js  -> the patched runtime
//   node runtime_edits.cjs probe < brython.js  -> JSON [{why, remove, copy}, ...]: where each
//       edit found its nodes (for tests/sdk_build/test_runtime.py, see `probe` below)
//
// Each edit names the nodes it changes by their structure (the `if` whose test is ..., the
// assignment to ..., the file whose body declares ...), comparing small sub-expressions by their
// text without white space. Every node an edit looks for must be found exactly once: if any is
// found zero times or more than once, nothing is written and the build fails with one line per
// such edit, naming it, what it looked for and why the edit exists (docs/build.md, "Upgrading
// Brython").
"use strict";
const fs = require("fs");
const acorn = require("acorn");

class EditError extends Error {}

// The syntax tree of brython.js, with each node's parent and the list of statements it is in.
class Tree {
  constructor(source) {
    this.source = source;
    this.comments = [];
    this.ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: "script", onComment: this.comments });
    this.byType = new Map();
    this.parent = new Map();
    this.list = new Map(); // statement -> the array of statements that holds it
    this.allStatements = null;
    const stack = [[this.ast, null]];
    while (stack.length) {
      const [node, parent] = stack.pop();
      this.parent.set(node, parent);
      if (!this.byType.has(node.type)) this.byType.set(node.type, []);
      this.byType.get(node.type).push(node);
      for (const field of Object.keys(node)) {
        const value = node[field];
        if (Array.isArray(value)) {
          const statements = field === "body" || field === "consequent";
          for (const child of value) {
            if (child && typeof child.type === "string") {
              if (statements) this.list.set(child, value);
              stack.push([child, node]);
            }
          }
        } else if (value && typeof value.type === "string") {
          stack.push([value, node]);
        }
      }
    }
    for (const nodes of this.byType.values()) nodes.sort((a, b) => a.start - b.start);
  }

  nodes(type) {
    return this.byType.get(type) || [];
  }

  // A node's text without white space: how sub-expressions are compared.
  text(node) {
    return this.source.slice(node.start, node.end).replace(/\s+/g, "");
  }

  is(node, text) {
    return Boolean(node) && this.text(node) === text.replace(/\s+/g, "");
  }

  contains(node, text) {
    return Boolean(node) && this.text(node).includes(text.replace(/\s+/g, ""));
  }

  // Statements: `x = ...` (`left` spelled as in the source), `var name = ...`, `function name`.
  assigns(node, left) {
    return (
      node.type === "ExpressionStatement" &&
      node.expression.type === "AssignmentExpression" &&
      this.is(node.expression.left, left)
    );
  }

  declares(node, name) {
    if (node.type === "FunctionDeclaration") return node.id.name === name;
    if (node.type === "VariableDeclaration") {
      return node.declarations.some((d) => d.id.type === "Identifier" && d.id.name === name);
    }
    return false;
  }

  // The value of `var name = value` when `node` is that declaration.
  initOf(node, name) {
    return node.type === "VariableDeclaration" ? this.declarator(node, name)?.init : undefined;
  }

  declarator(node, name) {
    return node.declarations.find((d) => d.id.type === "Identifier" && d.id.name === name);
  }

  statements(predicate) {
    if (!this.allStatements) this.allStatements = [...this.list.keys()].sort((a, b) => a.start - b.start);
    return this.allStatements.filter(predicate);
  }

  // The source files of brython.js: top-level statements `(function($B){...})(__BRYTHON__)`.
  files() {
    return this.ast.body.filter((node) => this.fileBody(node));
  }

  fileBody(node) {
    if (node.type !== "ExpressionStatement" || node.expression.type !== "CallExpression") return null;
    const callee = node.expression.callee;
    if (callee.type !== "FunctionExpression" || !this.is(node.expression.arguments[0], "__BRYTHON__")) {
      return null;
    }
    return callee.body.body;
  }

  // The object literal's property named `key`.
  property(object, key) {
    return object.properties.find(
      (p) => p.type === "Property" && ((p.key.type === "Identifier" && p.key.name === key) || p.key.value === key),
    );
  }
}

// What one edit changes; `one` and `sibling` find nodes and record them (for `probe`).
class Edit {
  constructor(tree, why) {
    this.tree = tree;
    this.why = why;
    this.changes = [];
    this.found = [];
  }

  // The one node of `candidates` (an array) that `what` describes.
  one(what, candidates) {
    if (candidates.length !== 1) {
      throw new EditError(`expected exactly one ${what}, found ${candidates.length}`);
    }
    this.found.push(candidates[0]);
    return candidates[0];
  }

  // The statement after (or, with `backwards`, before) `from` in its list that `what` describes:
  // the nearest one.
  sibling(from, what, predicate, backwards = false) {
    const list = this.tree.list.get(from);
    const index = list.indexOf(from);
    const rest = backwards ? list.slice(0, index).reverse() : list.slice(index + 1);
    const match = rest.find(predicate);
    if (!match) throw new EditError(`expected ${what} ${backwards ? "before" : "after"} it, found 0`);
    this.found.push(match);
    return match;
  }

  replace(node, text) {
    this.changes.push([node.start, node.end, text]);
  }

  insert(at, text) {
    this.changes.push([at, at, text]);
  }

  // Remove from the start of `first` to the end of `last` (statements of one list), and the line
  // break after it.
  remove(first, last = first) {
    const source = this.tree.source;
    const end = source[last.end] === "\n" ? last.end + 1 : last.end;
    this.changes.push([first.start, end, ""]);
  }

  // Remove the statements from `first` to the end of their list.
  removeToEnd(first) {
    const list = this.tree.list.get(first);
    this.remove(first, list[list.length - 1]);
  }

  // Remove the statements from `first` up to `next` (kept).
  removeUpTo(first, next) {
    this.changes.push([first.start, next.start, ""]);
  }
}

// Remove a whole source file of brython.js: the top-level statements from the IIFE found (and the
// "use strict" before it) up to the next file, which starts with a "use strict" statement or an
// IIFE whose function starts with the "use strict" directive (a file may hold several IIFEs).
function dropFile(e, t, what, predicate) {
  const file = e.one(
    `file of brython.js (a top-level IIFE) whose body ${what}`,
    t.files().filter((node) => t.fileBody(node).some(predicate)),
  );
  const list = t.ast.body;
  const index = list.indexOf(file);
  const starts = (node) =>
    t.is(node, '"use strict";') || (t.fileBody(node) && t.fileBody(node)[0]?.directive === "use strict");
  let last = index;
  while (last + 1 < list.length && !starts(list[last + 1])) last++;
  if (last + 1 >= list.length) throw new EditError("expected another file after it, found 0");
  // the `;` statements between files stay: `})(__BRYTHON__)\n(function...` would be one call
  while (list[last].type === "EmptyStatement") last--;
  const before = list[index - 1];
  e.remove(before && t.is(before, '"use strict";') ? before : file, list[last]);
}

// The edits, in source order of what they change. `why` is what an error names.
const EDITS = [
  {
    why: "keep the runtime private: never share or publish a global __BRYTHON__",
    edit(e, t) {
      const declaration = e.one(
        "top-level `var __BRYTHON__ = globalThis.__BRYTHON__ || {}`",
        t.ast.body.filter(
          (n) => t.is(t.initOf(n, "__BRYTHON__"), "globalThis.__BRYTHON__||{}"),
        ),
      );
      // cut_ is the body of every function cut by build/runtime_functions.cjs
      e.replace(
        t.declarator(declaration, "__BRYTHON__").init,
        "{cut_:function(name){var $B=__BRYTHON__\n" +
          "$B.RAISE($B.builtins.NotImplementedError,name+' is not in this runtime'" +
          "+' (cut from the bundle as never called: build/runtime_cuts.txt)')}}",
      );
    },
  },
  {
    why: "the startup feature check uses eval(), a CSP violation without 'unsafe-eval'",
    edit(e, t) {
      e.remove(
        e.one(
          '`try` whose block is `eval("async function* f(){}")`',
          t.nodes("TryStatement").filter((n) => t.is(n.block, '{eval("async function* f(){}")}')),
        ),
      );
    },
  },
  {
    why: "no document-wide observer, no DOMContentLoaded auto-start, no custom element",
    edit(e, t) {
      const observer = e.one(
        "`if` whose test is `!($B.isWebWorker || $B.isNode)` and whose body starts with " +
          "`var startup_observer = new MutationObserver(...)`",
        t.nodes("IfStatement").filter(
          (n) =>
            t.is(n.test, "!($B.isWebWorker||$B.isNode)") &&
            n.consequent.type === "BlockStatement" &&
            t.declares(n.consequent.body[0], "startup_observer") &&
            t.contains(n.consequent.body[0], "new MutationObserver("),
        ),
      );
      e.replace(observer.test, "false");
    },
  },
  {
    why: "no scan of the host page's own <script type=text/python>",
    edit(e, t) {
      e.replace(scriptScan(e, t).test, "false");
    },
  },
  {
    why: "running <script type=text/python> tags and the global brython() function",
    edit(e, t) {
      // the `if` (which also registers the brython-options element and the DOMContentLoaded
      // start) and the statements after it, up to `function convert_option`: the script runner's
      // helpers and `var brython = $B.parser.brython = function`
      const scan = scriptScan(e, t);
      const next = e.sibling(scan, "`function convert_option`", (n) => t.declares(n, "convert_option"));
      e.sibling(
        scan,
        "`var brython = $B.parser.brython = function` before it",
        (n) => t.declares(n, "brython") && n.end < next.start,
      );
      e.replace(scan.consequent, "{}");
      e.changes.push([scan.end, next.start, "\n"]);
    },
  },
  {
    why: "running scripts and web workers from the page",
    edit(e, t) {
      e.removeToEnd(e.one("`function run_scripts`", t.statements((n) => t.declares(n, "run_scripts"))));
    },
  },
  {
    why: "no global brython() function, no Node export",
    edit(e, t) {
      const global = e.one(
        "top-level `globalThis.brython = __BRYTHON__.brython`",
        t.ast.body.filter((n) => t.is(n, "globalThis.brython=__BRYTHON__.brython")),
      );
      const node = e.sibling(
        global,
        "the `if(__BRYTHON__.isNode)` that exports it",
        (n) => n.type === "IfStatement" && t.is(n.test, "__BRYTHON__.isNode"),
      );
      e.remove(global, node);
    },
  },
  {
    why: "the AST classes: every module is compiled at build time",
    edit(e, t) {
      // The file's second IIFE, which finalises every builtin type, stays.
      const classes = e.one(
        "top-level `__BRYTHON__.ast_classes = {...}`",
        t.ast.body.filter((n) => t.assigns(n, "__BRYTHON__.ast_classes")),
      );
      const iife = e.sibling(classes, "the file that builds them (declares `op2ast_class`)", (n) =>
        (t.fileBody(n) || []).some((s) => t.declares(s, "op2ast_class")),
      );
      const list = t.ast.body;
      const before = list[list.indexOf(classes) - 1];
      e.remove(before && t.is(before, '"use strict";') ? before : classes, iife);
    },
  },
  {
    why:
      "the code generator: every module is compiled at build time; " +
      "the helpers that generated code calls at run time stay",
    edit(e, t) {
      const body = t.fileBody(
        e.one(
          "file of brython.js whose body declares `function ast_dump` (the code generator)",
          t.files().filter((n) => t.fileBody(n).some((s) => t.declares(s, "ast_dump"))),
        ),
      );
      const find = (what, predicate) => e.one(what + " in the code generator", body.filter(predicate));
      const kept = new Set([body[0]]); // var _b_ = $B.builtins
      const keepRange = (first, next) => {
        for (let i = body.indexOf(first); i < body.indexOf(next); i++) kept.add(body[i]);
      };
      kept.add(find("`$B.decode_position = function`", (n) => t.assigns(n, "$B.decode_position")));
      kept.add(find("`$B.scope_name = function`", (n) => t.assigns(n, "$B.scope_name")));
      // resolve_in_namespace and the $B.resolve* functions after it, up to `var $operators`
      keepRange(
        find("`function resolve_in_namespace`", (n) => t.declares(n, "resolve_in_namespace")),
        find("`var $operators`", (n) => t.declares(n, "$operators")),
      );
      kept.add(find("`var exclude_from_builtins`", (n) => t.declares(n, "exclude_from_builtins")));
      const scope = find("`var builtins_scope = new Scope(...)`", (n) => t.declares(n, "builtins_scope"));
      kept.add(scope);
      const fill = body[body.indexOf(scope) + 1];
      if (!fill || fill.type !== "ForInStatement" || !t.is(fill.right, "$B.builtins")) {
        throw new EditError("expected `for (var name in $B.builtins)` after `var builtins_scope`, found 0");
      }
      kept.add(fill);
      e.replace(t.declarator(scope, "builtins_scope").init, "{locals:new Set()}");
      for (let i = 0; i < body.length; i++) {
        if (kept.has(body[i])) continue;
        let j = i;
        while (j + 1 < body.length && !kept.has(body[j + 1])) j++;
        e.remove(body[i], body[j]);
        i = j;
      }
    },
  },
  {
    why:
      "the tokenizer, parser and code generator between brython.js's " +
      "`// >>> brython compiler chain` and `// <<< brython compiler chain`",
    edit(e, t) {
      const marker = (text) =>
        e.one(`comment \`// ${text}\``, t.comments.filter((c) => c.type === "Line" && c.value.trim() === text));
      const first = marker(">>> brython compiler chain");
      const last = marker("<<< brython compiler chain");
      if (last.start < first.start) throw new EditError("the compiler chain's markers are out of order, found 0 in order");
      for (const node of t.ast.body) {
        const inside = node.start > first.start && node.end < last.end;
        if (!inside && node.end > first.start && node.start < last.end) {
          throw new EditError("expected the compiler chain's markers between top-level statements, found 0");
        }
      }
      e.changes.push([first.start, t.source[last.end] === "\n" ? last.end + 1 : last.end, ""]);
    },
  },
  {
    why: "builtin docstrings: 30 KB that a tracker never shows",
    edit(e, t) {
      const docs = e.one(
        "top-level `var docs = {ArithmeticError: ...}`",
        t.ast.body.filter(
          (n) => t.initOf(n, "docs")?.type === "ObjectExpression" && t.property(t.initOf(n, "docs"), "ArithmeticError"),
        ),
      );
      e.replace(t.declarator(docs, "docs").init, "{}");
    },
  },
  {
    why: "the builtin types' own docstrings (tp_doc, 13 KB of text in their slot tables) become empty strings",
    edit(e, t) {
      const slots = e.one(
        '`var slots = ["tp_name", ...]`',
        t.statements(
          (n) => t.initOf(n, "slots")?.type === "ArrayExpression" && t.is(t.initOf(n, "slots").elements[0], '"tp_name"'),
        ),
      );
      const end = e.sibling(
        slots,
        "`for (var name in $B.builtin_types)`",
        (n) => n.type === "ForInStatement" && t.is(n.right, "$B.builtin_types"),
      );
      const templates = t.nodes("TemplateLiteral").filter((n) => n.start > slots.end && n.end < end.start);
      if (!templates.length) throw new EditError("expected docstrings (template literals) in the slot tables, found 0");
      for (const template of templates) {
        if (template.expressions.length) throw new EditError("expected plain docstrings, found one with ${...}");
        e.replace(template, '""');
      }
    },
  },
  {
    why: "$B.tz_name: two Intl.DateTimeFormat calls on every start (13-20 ms cold) for a name nothing reads",
    edit(e, t) {
      const last = e.one("`$B.tz_name = ...`", t.statements((n) => t.assigns(n, "$B.tz_name")));
      const first = e.sibling(last, "`var date = new Date()`", (n) => t.is(t.initOf(n, "date"), "new Date()"), true);
      e.remove(first, last);
    },
  },
  {
    why: "the tokenizer: every module is compiled at build time",
    edit(e, t) {
      const first = e.one("`const FT_START`", t.statements((n) => t.declares(n, "FT_START")));
      e.removeToEnd(first);
    },
  },
  {
    why: "the compiler's entry points (py2js, docstrings, string escapes, __future__)",
    edit(e, t) {
      const next = e.one("`$B.parse_options = function`", t.statements((n) => t.assigns(n, "$B.parse_options")));
      const first = e.sibling(next, "`var ast = $B.ast`", (n) => t.is(t.initOf(n, "ast"), "$B.ast"), true);
      e.removeUpTo(first, next);
    },
  },
  {
    why:
      "the runtime starts in slices, after the script's evaluation: no currentScript then " +
      "(brython_path is only used to fetch the stdlib, which is not shipped)",
    edit(e, t) {
      const assignment = e.one(
        "`this_url = document.currentScript.src`",
        t
          .nodes("AssignmentExpression")
          .filter((n) => t.is(n.left, "this_url") && t.is(n.right, "document.currentScript.src")),
      );
      e.replace(assignment.right, "document.currentScript ? document.currentScript.src :location.href");
    },
  },
  {
    why: "browser.html, the tag classes (the SDK uses the DOM through browser.window)",
    edit(e, t) {
      e.remove(e.one("`modules['browser.html'] = ...`", t.statements((n) => t.assigns(n, "modules['browser.html']"))));
    },
  },
  {
    why:
      "str.join of a list or tuple joins its items directly: iterating it raised (and caught) a " +
      "StopIteration for every join, the SDK's costliest runtime path per event",
    edit(e, t) {
      const join = e.one("`str_funcs.join = function`", t.statements((n) => t.assigns(n, "str_funcs.join")));
      const body = join.expression.right.body.body;
      const self = e.one(
        "`var _self = to_string(self)` in str.join",
        body.filter((n) => t.is(n, "var _self=to_string(self)")),
      );
      e.insert(
        self.end,
        "\nif(Array.isArray(iterable)&&(iterable.ob_type===_b_.list||iterable.ob_type===_b_.tuple)){" +
          "for(var i=0;i<iterable.length;i++){if(! $B.is_str(iterable[i])){" +
          '$B.RAISE(_b_.TypeError,"sequence item "+i+": expected str instance, "+' +
          '$B.class_name(iterable[i])+" found")}}\n' +
          "return iterable.join(_self)}",
      );
    },
  },
  {
    why:
      "str.partition makes its 3-tuple directly, not by iterating a JS array (which ends with a " +
      "StopIteration raised and caught)",
    edit(e, t) {
      const partition = e.one(
        "`str_funcs.partition = function`",
        t.statements((n) => t.assigns(n, "str_funcs.partition")),
      );
      const calls = t
        .nodes("CallExpression")
        .filter((n) => n.start > partition.start && n.end < partition.end && t.is(n.callee, "_b_.tuple.$factory"));
      if (calls.length !== 2) {
        throw new EditError(`expected two \`_b_.tuple.$factory(...)\` calls in str.partition, found ${calls.length}`);
      }
      for (const call of calls) e.replace(call.callee, "$B.fast_tuple");
    },
  },
  {
    why:
      "dict.get of a str key reads it directly: a missing key raised (and caught) a KeyError, " +
      "which page metadata does a few dozen times for the first event of a page",
    edit(e, t) {
      const get = e.one("`dict_funcs.get = function`", t.statements((n) => t.assigns(n, "dict_funcs.get")));
      const args = e.one(
        "`var $ = $B.args(\"get\", ...)` in dict.get",
        get.expression.right.body.body.filter((n) => n.type === "VariableDeclaration" && t.contains(n, "$B.args(\"get\"")),
      );
      // A str key of a dict is always an own property of it (dict.$setitem), as dict.$getitem
      // reads it; a dict that wraps a JS object ($B.JSOBJ) keeps the slow path.
      e.insert(
        args.end,
        "\nif(typeof $.key==\"string\"&&! Object.hasOwn($.self,$B.JSOBJ)){" +
          "return Object.hasOwn($.self,$.key)?$.self[$.key]:$._default}",
      );
    },
  },
  {
    why: "DOM elements are plain DOMNode objects: no browser.html tag class per tag name",
    edit(e, t) {
      e.remove(tagClassLookup(e, t, "Node"));
    },
  },
  {
    why: "DOM elements of another window are plain DOMNode objects too",
    edit(e, t) {
      e.remove(tagClassLookup(e, t, "view.Node"));
    },
  },
  {
    why: "'Did you mean' suggestions: none is ever computed for a tracker's errors",
    edit(e, t) {
      const module = e.one(
        "`modules['_suggestions'] = {...}`",
        t.statements((n) => t.assigns(n, "modules['_suggestions']")),
      );
      const first = e.sibling(module, "`var MAX_CANDIDATE_ITEMS`", (n) => t.declares(n, "MAX_CANDIDATE_ITEMS"), true);
      const generate = t.property(module.expression.right, "_generate_suggestions");
      if (!generate) throw new EditError("expected `_generate_suggestions` in the module, found 0");
      e.removeUpTo(first, module);
      e.replace(generate.value, "function(){return null}");
    },
  },
  {
    why: "browser.aio (ajax, Future, sleep): requests go through the bundle's own fetch",
    edit(e, t) {
      const next = e.one(
        "`function load(name, module_obj)` (of the builtin modules)",
        t.statements((n) => t.declares(n, "load") && t.is(n.params[1], "module_obj")),
      );
      e.removeUpTo(e.sibling(next, "`var responseType`", (n) => t.declares(n, "responseType"), true), next);
    },
  },
  {
    why: "browser.html and browser.aio are not attached to the browser module",
    edit(e, t) {
      e.remove(
        e.one(
          "`if` whose test is `!($B.isWebWorker || $B.isNode)` and whose body sets `modules['browser'].html`",
          t
            .nodes("IfStatement")
            .filter(
              (n) => t.is(n.test, "!($B.isWebWorker||$B.isNode)") && t.contains(n.consequent, "modules['browser'].html="),
            ),
        ),
      );
    },
  },
  {
    why: "open() is left out with the io file: say so when called, not with a log at start",
    edit(e, t) {
      const loop = e.one(
        "`for (var builtin_func of $B.builtin_funcs)`",
        t.nodes("ForOfStatement").filter((n) => t.is(n.right, "$B.builtin_funcs")),
      );
      e.insert(loop.start, "_b_.open ||= function(){$B.RAISE(_b_.OSError, 'open() is not in this runtime')}\n");
    },
  },
  {
    why: "compile(): it needs the compiler; calling it raises",
    edit(e, t) {
      e.replace(
        e.one("`_b_.compile = function`", t.statements((n) => t.assigns(n, "_b_.compile"))),
        "_b_.compile=function(){$B.RAISE(_b_.NotImplementedError,'compile() is not in this runtime')}",
      );
    },
  },
  {
    why: "eval() and exec(): they need the compiler; calling them raises",
    edit(e, t) {
      const first = e.one(
        "`var $$eval = _b_.eval = function`",
        t.statements(
          (n) => t.initOf(n, "$$eval")?.type === "AssignmentExpression" && t.is(t.initOf(n, "$$eval").left, "_b_.eval"),
        ),
      );
      const list = t.list.get(first);
      e.changes.push([
        first.start,
        list[list.length - 1].end,
        "_b_.eval=_b_.exec=function(){$B.RAISE(_b_.NotImplementedError,'eval() and exec() are not in this runtime')}\n",
      ]);
    },
  },
  {
    why: "modules are real JS functions made at build time, never strings passed to Function()",
    edit(e, t) {
      const declaration = e.one(
        "`var $module = new Function(prefix + parent_id, mod_js)(mod)`",
        t.statements((n) => t.is(t.initOf(n, "$module"), "new Function(prefix+parent_id,mod_js)(mod)")),
      );
      const suffix = e.sibling(
        declaration,
        '`mod_js += "return " + prefix + parent_id`',
        (n) => t.is(n, 'mod_js+="return "+prefix+parent_id'),
        true,
      );
      e.remove(suffix);
      e.replace(t.declarator(declaration, "$module").init, "mod_js(mod)");
    },
  },
  {
    why: "a function's frame is named after the function (build/generated_code.cjs leaves the name out)",
    edit(e, t) {
      const enter = e.one("`$B.enter_frame = function`", t.statements((n) => t.assigns(n, "$B.enter_frame")));
      const fn = enter.expression.right;
      if (fn.type !== "FunctionExpression" || !t.is(fn.params[0], "frame")) {
        throw new EditError("expected `$B.enter_frame = function(frame, ...)`, found another shape");
      }
      // first, so that even a RecursionError raised below names the frame
      e.insert(fn.body.start + 1, "\nif(frame[0]===undefined){frame[0]=frame[4].$function_infos[1]}");
    },
  },
  {
    why: "one call ends each function definition of the SDK's code (build/generated_code.cjs)",
    edit(e, t) {
      const attrs = e.one("`$B.set_func_attrs = function`", t.statements((n) => t.assigns(n, "$B.set_func_attrs")));
      e.insert(
        attrs.end,
        "\n$B.set_function=function(f,frame,infos){f.$function_infos=infos\n" +
          "$B.set_func_attrs(f,frame,infos[0])\nf.ob_type=$B.function}",
      );
    },
  },
  {
    why: "function __annotations__ work without the __annotate__ = None that bundle.py drops",
    edit(e, t) {
      const test = e.one(
        "`self.__annotate__ === _b_.None` (the test of an `if` that returns an empty dict)",
        t
          .nodes("IfStatement")
          .filter((n) => t.is(n.test, "self.__annotate__===_b_.None") && t.contains(n.consequent, "$B.empty_dict()")),
      ).test;
      e.replace(test.left, "(self.__annotate__ ?? _b_.None)");
    },
  },
  {
    why: "the meta path holds the VFS finder only (the other finders are cut below)",
    edit(e, t) {
      const path = e.one("`$B.$meta_path = [...]`", t.statements((n) => t.assigns(n, "$B.$meta_path")));
      const finders = e.one("`$B.finders = {...}`", t.statements((n) => t.assigns(n, "$B.finders")));
      e.replace(path.expression.right, "[VFSFinder]");
      e.replace(finders.expression.right, "{VFS:VFSFinder}");
    },
  },
  {
    why: "imports search the bundle's modules only: no stdlib finder on the import path",
    edit(e, t) {
      const first = e.one("`var static_stdlib_import = ...`", t.statements((n) => t.declares(n, "static_stdlib_import")));
      const uses = e.sibling(
        first,
        "the `if` that uses it",
        (n) => n.type === "IfStatement" && t.contains(n.test, "static_stdlib_import"),
      );
      e.remove(first, uses);
    },
  },
  {
    why: "imports search the bundle's modules only: no URL finder on the import path",
    edit(e, t) {
      e.remove(
        e.one(
          '`if` whose test is `$B.protocol !== "file"` and whose body pushes `$B.finders.path`',
          t
            .nodes("IfStatement")
            .filter(
              (n) => t.is(n.test, '$B.protocol!=="file"') && t.contains(n.consequent, "meta_path.push($B.finders.path)"),
            ),
        ),
      );
    },
  },
  {
    why: "module downloads (synchronous XMLHttpRequest): a missing module fails at once",
    edit(e, t) {
      const first = e.one("`function $download_module`", t.statements((n) => t.declares(n, "$download_module")));
      const last = e.sibling(first, "`$B.$download_module = $download_module`", (n) =>
        t.is(n, "$B.$download_module=$download_module"),
      );
      e.remove(first, last);
    },
  },
  {
    why: "the stdlib and URL finders and loaders (only the bundle's VFS finder is used)",
    edit(e, t) {
      const first = e.one("`var StdlibStaticFinder`", t.statements((n) => t.declares(n, "StdlibStaticFinder")));
      e.removeUpTo(first, e.sibling(first, "`function get_info`", (n) => t.declares(n, "get_info")));
    },
  },
  {
    why: "the _importlib module, which exposes the dropped finders",
    edit(e, t) {
      const first = e.one(
        "`function optimize_import_for_path`",
        t.statements((n) => t.declares(n, "optimize_import_for_path")),
      );
      e.removeToEnd(first);
    },
  },
  {
    why: "t-strings (string.templatelib Template and Interpolation), which the SDK never writes",
    edit(e, t) {
      e.removeToEnd(e.one("`var Interpolation`", t.statements((n) => t.declares(n, "Interpolation"))));
    },
  },
  {
    why: "javascript.this() raises: generated functions no longer record `this` (bundle.py)",
    edit(e, t) {
      e.replace(
        javascriptModule(e, t, "this").value,
        "function(){$B.RAISE(_b_.NotImplementedError,'javascript.this() is not in this runtime')}",
      );
    },
  },
  {
    why: "javascript.import_js, import_modules, import_scripts: the SDK loads no other script",
    edit(e, t) {
      const first = javascriptModule(e, t, "import_js");
      const properties = t.parent.get(first).properties;
      const next = javascriptModule(e, t, "JSObject");
      if (properties.indexOf(next) < properties.indexOf(first)) {
        throw new EditError("expected `JSObject` after `import_js`, found 0");
      }
      e.removeUpTo(first, next);
    },
  },
  {
    why: "javascript.load (deprecated, needs open()) and javascript.py2js (needs the compiler)",
    edit(e, t) {
      removeProperty(e, t, javascriptModule(e, t, "load"));
    },
  },
  {
    why: "javascript.py2js: it needs the compiler",
    edit(e, t) {
      removeProperty(e, t, javascriptModule(e, t, "py2js"));
    },
  },
  {
    why: "traceback carets: they need frame.positions (dropped by bundle.py) and the parser",
    edit(e, t) {
      const first = e.one("`function make_report`", t.statements((n) => t.declares(n, "make_report")));
      e.removeUpTo(first, e.sibling(first, "`function trace_from_stack`", (n) => t.declares(n, "trace_from_stack")));
    },
  },
  {
    why: "traceback carets: the branch of trace_from_stack that draws them",
    edit(e, t) {
      const branch = e.one(
        "`if (positions)` in `trace_from_stack` whose body reads " +
          "`let [lineno, end_lineno, col_offset, end_col_offset] = positions`",
        t.nodes("IfStatement").filter(
          (n) =>
            t.is(n.test, "positions") &&
            n.alternate &&
            n.consequent.type === "BlockStatement" &&
            t.is(n.consequent.body[0], "let[lineno,end_lineno,col_offset,end_col_offset]=positions"),
        ),
      );
      e.replace(branch.test, "false");
      e.replace(branch.consequent, "{}");
    },
  },
  {
    why: "tracebacks of the production build: no line when the frame has none (build/generated_code.cjs)",
    edit(e, t) {
      const line = e.one(
        "the template `  File \"${filename}\", line ${lineno}, in ` in `trace_from_stack`",
        t.nodes("TemplateLiteral").filter((n) => t.is(n, '`  File "${filename}", line ${lineno}, in `')),
      );
      e.replace(line, '`  File "${filename}"${lineno === undefined ? "" : ", line " + lineno}, in `');
    },
  },
  {
    why: "keyword-typo hints for syntax errors (the runtime compiles nothing)",
    edit(e, t) {
      const hints = e.one("`function _find_keyword_typos`", t.statements((n) => t.declares(n, "_find_keyword_typos")));
      e.remove(e.sibling(hints, "`var python_keywords`", (n) => t.declares(n, "python_keywords"), true));
      e.replace(hints.body, "{}");
    },
  },
  {
    why: "copyright and credits texts of the interactive interpreter",
    edit(e, t) {
      e.removeToEnd(e.one("`var copyright`", t.statements((n) => t.declares(n, "copyright"))));
    },
  },
  {
    why: "tokens, AST and Python-to-JS entry points for pages (need the compiler)",
    edit(e, t) {
      const first = e.one("`$B.show_tokens = function`", t.statements((n) => t.assigns(n, "$B.show_tokens")));
      e.removeUpTo(first, e.sibling(first, "`var fakeScript`", (n) => t.declares(n, "fakeScript")));
    },
  },
  // Whole source files of brython.js that the SDK never uses. A feature removed here fails loudly
  // if used (a missing method or class), never silently; the self-test (tests/sdk_build) checks
  // that the rest of the runtime still behaves as CPython does.
  ...[
    ["tokenizer token table", "declares `tokens`", "tokens"],
    ["io classes and open()", "declares `function make_lines`", "make_lines"],
    ["bytes, bytearray, memoryview and codecs", "declares `from_unicode`", "from_unicode"],
    ["complex numbers", "declares `function conv_complex`", "conv_complex"],
  ].map(([why, what, name]) => ({
    why,
    edit(e, t) {
      dropFile(e, t, what, (n) => t.declares(n, name));
    },
  })),
  {
    why: "script runner and IndexedDB module cache",
    edit(e, t) {
      dropFile(e, t, "has an `if` whose test is `$B.VFS_timestamp && $B.VFS_timestamp > $B.timestamp`", (n) =>
        n.type === "IfStatement" && t.is(n.test, "$B.VFS_timestamp&&$B.VFS_timestamp>$B.timestamp"),
      );
    },
  },
  {
    why: "sentinel objects",
    edit(e, t) {
      dropFile(e, t, "sets `_b_.sentinel.tp_richcompare`", (n) => t.assigns(n, "_b_.sentinel.tp_richcompare"));
    },
  },
  {
    why: "match statements",
    edit(e, t) {
      dropFile(e, t, "sets `$B.pattern_match`", (n) => t.assigns(n, "$B.pattern_match"));
    },
  },
];

// The `if(!$B.isWebWorker){...}` whose body collects the page's <script type="text/python">.
function scriptScan(e, t) {
  return e.one(
    "`if` whose test is `!$B.isWebWorker` and whose body collects `script[type=\"text/python\"]`",
    t
      .nodes("IfStatement")
      .filter((n) => t.is(n.test, "!$B.isWebWorker") && t.contains(n.consequent, 'script[type="text/python"]')),
  );
}

// In `$B.get_class`, the `if(obj.tagName){...}` that looks a tag class up in browser.html, inside
// `if(obj instanceof NODE){...}`.
function tagClassLookup(e, t, node) {
  return e.one(
    `\`if (obj.tagName)\` that looks up browser.html, first in \`if (obj instanceof ${node})\``,
    t.nodes("IfStatement").filter((n) => {
      const outer = t.parent.get(t.parent.get(n));
      return (
        t.is(n.test, "obj.tagName") &&
        t.contains(n.consequent, "$B.imported['browser.html']") &&
        outer.type === "IfStatement" &&
        t.is(outer.test, `obj instanceof ${node}`) &&
        outer.consequent.body[0] === n
      );
    }),
  );
}

// The property `key` of the object literal `modules['javascript'] = {...}`.
function javascriptModule(e, t, key) {
  const module = t.statements(
    (n) => t.assigns(n, "modules['javascript']") && n.expression.right.type === "ObjectExpression",
  );
  if (module.length !== 1) {
    throw new EditError(`expected exactly one \`modules['javascript'] = {...}\`, found ${module.length}`);
  }
  const properties = module.map((n) => t.property(n.expression.right, key)).filter(Boolean);
  return e.one(`property \`${key}\` of \`modules['javascript']\``, properties);
}

// Remove a property of an object literal, with the comma after it.
function removeProperty(e, t, property) {
  const properties = t.parent.get(property).properties;
  const next = properties[properties.indexOf(property) + 1];
  if (!next) throw new EditError("expected a property after it, found 0");
  e.removeUpTo(property, next);
}

function run(source) {
  const tree = new Tree(source);
  const done = [];
  const failures = [];
  for (const { why, edit } of EDITS) {
    const e = new Edit(tree, why);
    try {
      edit(e, tree);
      done.push(e);
    } catch (err) {
      if (!(err instanceof EditError)) throw err;
      failures.push(`runtime edit '${why}': ${err.message}`);
    }
  }
  return { tree, done, failures };
}

function patch(source) {
  const { done, failures } = run(source);
  const changes = [];
  for (const e of done) for (const change of e.changes) changes.push([...change, e.why]);
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < changes.length; i++) {
    if (changes[i][0] < changes[i - 1][1]) {
      failures.push(`runtime edits '${changes[i - 1][3]}' and '${changes[i][3]}' change the same code`);
    }
  }
  if (failures.length) throw new EditError(failures.join("\n"));
  let out = "";
  let at = 0;
  for (const [start, end, text] of changes) {
    out += source.slice(at, start) + text;
    // What a removal joins must not become one statement: `a\n(b)` is the call `a(b)`.
    if (!text && /^\s*[([`+\-/]/.test(source.slice(end, end + 200)) && !/[;{]\s*$/.test(out.slice(-200))) {
      out += ";";
    }
    at = end;
  }
  return out + source.slice(at);
}

// For the tests (tests/sdk_build/test_runtime.py): per edit, its why, the statement holding the
// first node it found (to remove it), and a statement around that node to copy so that the node
// is found twice: the nearest statement directly in a function's body or at the top level, with
// whether it declares with let, const or class (a copy of it must then sit in a block). Offsets
// count code points, as Python's do.
function probe(source) {
  const { tree, done, failures } = run(source);
  if (failures.length) throw new EditError(failures.join("\n"));
  // a comment (the compiler chain's markers) is removed or copied itself
  const holder = (node) => {
    if (node.type === "Line" || node.type === "Block") return node;
    while (!tree.list.has(node)) node = tree.parent.get(node);
    return node;
  };
  const copied = (node) => {
    node = holder(node);
    if (node.type === "Line" || node.type === "Block") return node;
    for (;;) {
      const block = tree.parent.get(node);
      const owner = tree.parent.get(block);
      if (block.type === "Program" || (block.type === "BlockStatement" && owner.type.includes("Function"))) return node;
      node = holder(owner);
    }
  };
  const points = (offset) => [...source.slice(0, offset)].length;
  const range = (node) =>
    /[\uD800-\uDBFF]/.test(source) ? [points(node.start), points(node.end)] : [node.start, node.end];
  return done.map((e) => {
    const copy = copied(e.found[0]);
    const lexical = copy.type === "ClassDeclaration" || (copy.type === "VariableDeclaration" && copy.kind !== "var");
    return { why: e.why, remove: range(holder(e.found[0])), copy: [...range(copy), lexical] };
  });
}

function main() {
  const source = fs.readFileSync(0, "utf8");
  const mode = process.argv[2];
  if (mode === "patch") process.stdout.write(patch(source));
  else if (mode === "probe") process.stdout.write(JSON.stringify(probe(source)));
  else throw new Error("usage: runtime_edits.cjs patch | probe");
}

try {
  main();
} catch (err) {
  const message = String(err && err.message ? err.message : err);
  process.stderr.write((err instanceof EditError ? "" : "runtime_edits.cjs: ") + message + "\n");
  process.exit(err instanceof EditError ? 2 : 1);
}
