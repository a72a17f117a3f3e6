// Bundle boot, run inside the bundle's closure after the runtime's parts and the module table.
// RUNTIME: {parts: [function(){...}], brython: function(){return __BRYTHON__}} (runtime_parts.cjs);
// MODULES: {name: [imports, is_package, function(locals_name){...}]}; IMPORTS: the modules
// __main__ imports at start, each after its own imports; MAIN: the __main__ function.
//
// The start runs in slices (docs/build.md, "Start in slices"): evaluating this script only sets
// up the queue of steps below; the steps (the runtime's parts, registering the modules, importing
// each module, __main__, then the steps the SDK's start() adds) run as tasks of a few ms, yielding
// to the page between them. While the document is being parsed only the steps that need no parsed
// document run, and only in the browser's idle periods (see idleSlice below): all but the SDK's
// last start step, which installs `window.allegro` and runs what the page queued (it reads the
// page); that one runs after DOMContentLoaded, so DOMContentLoaded never waits for the SDK.
// Commands the page pushes meanwhile wait in its `window.allegro` array.
// If the page is hidden or left during the start, the steps left run at once, and the SDK's
// leave hook (which sends what is waiting) runs after them: nothing tracked is lost.
var SLICE_MS = 8; // a slice runs steps until this much time has passed, then yields
var MIN_IDLE_MS = 3; // an idle period shorter than this is left to the page
var currentScript = document.currentScript; // only set while this script is being evaluated
var steps = [];
var leaveHooks = [];
var $B = null;
var scheduled = false;
var running = false;

// Debug mode: data-debug on the SDK's script tag, or allegro_debug=1 in the page's query.
// Without it an internal error is one "allegro:" line; with it, also Brython's traceback,
// and the SDK logs each event, request and answer (docs/sdk.md, "Debug mode").
var debug =
  !!(currentScript && currentScript.hasAttribute("data-debug")) ||
  /^\?(.*&)?allegro_debug=1(&|$)/.test(location.search);
var showTraceback = null; // Brython's own error printer, kept before handle_error is replaced

function describe(err) {
  try {
    var exc = $B.exception(err);
    var text = $B.builtins.str.$factory(exc);
    return $B.class_name(exc) + (text ? ": " + text : "");
  } catch (ignored) {
    return String(err); // the runtime is not (fully) there yet, or could not describe it
  }
}

function report(err, what, consequence) {
  if (debug && showTraceback) {
    try {
      showTraceback(err);
    } catch (ignored) {
      // The runtime could not even format it: the line below still says what happened.
    }
  }
  console.error(
    "allegro: " + what + " (" + describe(err) + "): " + consequence +
      (debug ? "" : "; to see where, add data-debug to the SDK's script tag or " +
        "?allegro_debug=1 to the page's address, and report it to the site's developers")
  );
}

// An exception in Python code the browser calls back (a timer, a listener, an answer) is
// reported once and goes no further: Brython's default prints a traceback and throws it into
// the host page.
function handleError(err) {
  if (err && err.$handled) return;
  if (err) err.$handled = true;
  report(err, "internal error", "tracking goes on, but what the SDK was doing may be lost");
}

function failed(err) {
  steps.length = 0;
  leaveHooks.length = 0;
  if (err && err.$handled) {
    // handle_error has said what went wrong; say what it means.
    console.error("allegro: the SDK failed to start; events will not be tracked on this page.");
    return;
  }
  if (err) err.$handled = true;
  report(err, "the SDK failed to start", "events will not be tracked on this page");
}

var done = 0; // steps run so far
var prepared = 0; // the first steps, which need no parsed document (set below)

function runSteps(deadline, until) {
  running = true;
  try {
    while (steps.length && done < until) {
      var step = steps.shift();
      done++;
      try {
        step();
      } catch (err) {
        failed(err);
        return;
      }
      if (performance.now() >= deadline) return;
    }
  } finally {
    running = false;
  }
}

function slice() {
  scheduled = false;
  runSteps(performance.now() + SLICE_MS, Infinity);
  if (steps.length) schedule();
  else leaveHooks.length = 0; // started: the SDK's own listeners send what waits

}

var channel = typeof MessageChannel === "function" ? new MessageChannel() : null;
if (channel) channel.port1.onmessage = slice;

// A slice is an ordinary task (scheduler.postTask at "user-visible", or a MessageChannel message,
// or setTimeout): the page's own tasks, its timers and its load event interleave with ours.
// scheduler.yield() is not used: its continuations run before every other task of the page, so
// the start would still hold the page's own work (and its load event) until it is done.
function schedule() {
  if (scheduled) return;
  scheduled = true;
  if (window.scheduler && typeof window.scheduler.postTask === "function") {
    window.scheduler.postTask(slice, { priority: "user-visible" });
  } else if (channel) {
    channel.port2.postMessage(null);
  } else {
    setTimeout(slice, 0);
  }
}

function leaving() {
  if (!steps.length) return; // started (or failed): the SDK's own listeners send what waits
  runSteps(Infinity, Infinity);
  var hooks = leaveHooks.splice(0);
  for (var i = 0; i < hooks.length; i++) {
    try {
      hooks[i]();
    } catch (err) {
      failed(err);
    }
  }
}

// Each function definition of the SDK's compiled code is one call of this (build/generated_code.cjs
// writes them, and checks each against its twin, expandDefinition): it rebuilds the function's
// infos from what differs from the usual, then does what Brython's generated code does.
function defineFunction(f, frame, module, file, line, name, args, more, prefix, free, rare) {
  var None = $B.builtins.None;
  var infos = [module, name, prefix ? prefix + name : name, file, None, None, None, args, null, null,
    args.length, line, 3, free || [], 0, 0, args.concat(more || []), false, [], frame];
  for (var index in rare) infos[index] = rare[index];
  $B.set_function(f, frame, infos);
}

RUNTIME.parts.forEach(function (part) {
  steps.push(part);
});
steps.push(function () {
  $B = __BRYTHON__ = RUNTIME.brython();
  showTraceback = $B.show_error;
  $B.handle_error = handleError;
  $B.$options = { args: $B.$list([]) };
  $B.$options = $B.parse_options({ debug: 1 });
  $B.use_VFS = true;
  $B.def = defineFunction;
  var table = {};
  for (var name in MODULES) {
    var entry = MODULES[name];
    table[name] = [".py", "", entry[0], entry[1]];
    $B.precompiled[name] = entry[1] ? [entry[2]] : entry[2];
  }
  $B.update_VFS(table);
  registerBootModule($B);
});
IMPORTS.forEach(function (name) {
  steps.push(function () {
    $B.$__import__(name, $B.builtins.None, $B.builtins.None, []);
  });
});
steps.push(function () {
  var main = $B.module.$factory("__main__");
  main.__file__ = "__main__.py";
  $B.imported.__main__ = main;
  MAIN();
});

window.addEventListener("pagehide", leaving, true);
document.addEventListener("visibilitychange", function () {
  if (document.visibilityState === "hidden") leaving();
}, true);
prepared = steps.length; // then start_in_slices adds all but the SDK's last start step

// While the document is still being parsed, the steps that need no parsed document (the runtime's
// parts, the modules' imports, __main__ and all but the SDK's last start step) run in the browser's
// idle periods only (requestIdleCallback: the
// parser is waiting for the network, nothing else is due), in short slices: the parser is never
// kept waiting for more than one slice, and what is left of the start after DOMContentLoaded is
// shorter. Where the page never idles, or without requestIdleCallback, they run after it.
// An idle period lasts up to 50 ms, and Chromium runs an idle callback asked for during one only
// in the next: so one slice per callback would leave most of each period unused. The slices of one
// period are ordinary low-priority tasks (scheduler.postTask "background", else a MessageChannel
// message) until the period's deadline: whatever the page has due (the parser's next chunk, input)
// runs between them.
var idleUntil = 0; // the end of the browser's current idle period (performance.now() time)
var idleChannel = null;

function idleSlice(idle) {
  idleUntil = performance.now() + idle.timeRemaining();
  idleContinue();
}

function idleContinue() {
  if (document.readyState !== "loading" || running) return; // the slices after parsing took over
  var budget = Math.min(SLICE_MS, idleUntil - performance.now());
  if (budget >= MIN_IDLE_MS) runSteps(performance.now() + budget, prepared);
  if (!steps.length || done >= prepared) return;
  if (idleUntil - performance.now() < MIN_IDLE_MS) {
    requestIdleCallback(idleSlice);
  } else if (window.scheduler && typeof window.scheduler.postTask === "function") {
    window.scheduler.postTask(idleContinue, { priority: "background" });
  } else {
    if (!idleChannel) {
      idleChannel = new MessageChannel();
      idleChannel.port1.onmessage = idleContinue;
    }
    idleChannel.port2.postMessage(null);
  }
}

if (document.readyState === "loading") {
  if (typeof requestIdleCallback === "function") requestIdleCallback(idleSlice);
  // After DOMContentLoaded's own listeners, in a task of its own.
  document.addEventListener("DOMContentLoaded", function () { setTimeout(slice, 0); });
} else {
  schedule();
}

// The SDK's only hand-written JavaScript, which Python imports as
// allegro_sdk.browser.boot_js (typed for mypy by allegro_sdk/browser/boot_js.pyi).
//
// start_in_slices(steps, on_leave): the SDK's start() hands its remaining steps (functions, run
// in order, each in a slice; all but the last may run while the document is being parsed) and
// the function that sends what waits when the page is left during the start. current_script: the
// SDK's script element (document.currentScript is null by then).
//
// post: POST a body and hand back (status, text, Retry-After) or (message). Brython 3.15 loses
// track of its frames when a Python coroutine awaits fetch (after ~175 requests a page raises
// RecursionError) and mixes up Python callbacks given to .then(); a plain JS promise chain calling
// Python back once avoids both (docs/build.md). With `beacon` (the page is being left), a refused
// keepalive request (the browser's 64 KB budget is spent) is sent again with
// navigator.sendBeacon, whose answer cannot be read: it still ends in onFailure, so the events
// stay in the outbox until a request is acknowledged.
//
// web_locks: navigator.locks as the core's Locks (allegro_sdk/core/ports.py); a lock is held until
// release() resolves the promise its callback returned.
function registerBootModule($B) {
  // A Python function the browser calls back, made safe: an exception in it is reported as one
  // "allegro:" line (see handle_error above) instead of being thrown into the host page.
  function guard(fn) {
    // A bound method reaches JS as Brython's method object (im_func, im_self), not a function.
    var call = typeof fn === "function" ? fn : fn.im_func.bind(null, fn.im_self);
    return function () {
      try {
        return call.apply(null, arguments);
      } catch (err) {
        $B.handle_error(err);
      }
    };
  }
  function post(url, body, headersJson, keepalive, beacon, onResponse, onFailure) {
    onResponse = guard(onResponse);
    onFailure = guard(onFailure);
    var init = {
      method: "POST",
      body: body,
      headers: JSON.parse(headersJson),
      credentials: "omit",
      keepalive: keepalive,
    };
    fetch(url, init).then(
      function (response) {
        var retryAfter = response.headers.get("Retry-After") || "";
        return response.text().then(
          function (text) { onResponse(response.status, text, retryAfter); },
          function () { onResponse(response.status, "", retryAfter); }
        );
      },
      function (error) {
        var message = String((error && error.message) || error);
        if (beacon && navigator.sendBeacon && navigator.sendBeacon(url, body)) {
          message += "; sent as a beacon";
        }
        onFailure(message);
      }
    );
  }
  var releases = {};
  function request(name, ifAvailable, answer) {
    answer = guard(answer);
    var answered = false;
    function reply(taken) {
      if (!answered) {
        answered = true;
        answer(taken);
      }
    }
    navigator.locks.request(name, { ifAvailable: ifAvailable }, function (lock) {
      if (!lock) {
        reply(false); // another tab holds it
        return;
      }
      return new Promise(function (resolve) {
        releases[name] = resolve;
        reply(true);
      });
    }).catch(function () {
      reply(true); // refused (an opaque origin, say): there is nothing to guard
    });
  }
  var webLocks = {
    hold: function (name, held) { request(name, false, guard(function () { held(); })); },
    take_if_free: function (name, answer) { request(name, true, answer); },
    release: function (name) {
      var resolve = releases[name];
      delete releases[name];
      if (resolve) resolve();
    },
  };
  // watch_history: call `changed` after every pushState and replaceState (the page's own calls,
  // through wrappers that return what the originals return) and on popstate, for automatic page
  // views (allegro_sdk/core/page_views.py). Installed only with data-page-views="auto".
  function watchHistory(changed) {
    changed = guard(changed);
    ["pushState", "replaceState"].forEach(function (method) {
      var original = history[method];
      history[method] = function () {
        var result = original.apply(this, arguments);
        changed();
        return result;
      };
    });
    addEventListener("popstate", function () { changed(); });
  }
  // deferred_calls(handle): an API method that returns its Promise at once and leaves the work
  // to a later task, so a page's handler that tracks pays for a closure and a Promise, not for
  // the SDK (docs/sdk.md, "What a call costs the page"). Each call is queued as
  // [arguments, resolve, reject, Date.now()]; `handle(calls)` gets every call queued meanwhile,
  // in order, in one task of its own (drain() runs it at once: a page being left, a login).
  function deferredCalls(handle) {
    handle = guard(handle);
    var queued = [];
    var planned = false;
    var port = null;
    function drain() {
      planned = false;
      if (queued.length) handle(queued.splice(0));
    }
    function plan() {
      planned = true;
      if (window.scheduler && typeof window.scheduler.postTask === "function") {
        window.scheduler.postTask(drain, { priority: "user-visible" });
      } else if (typeof MessageChannel === "function") {
        if (!port) {
          var pair = new MessageChannel();
          pair.port1.onmessage = drain;
          port = pair.port2;
        }
        port.postMessage(null);
      } else {
        setTimeout(drain, 0);
      }
    }
    function call() {
      var args = Array.prototype.slice.call(arguments);
      var at = Date.now();
      return new Promise(function (resolve, reject) {
        queued.push([args, resolve, reject, at]);
        if (!planned) plan();
      });
    }
    return { call: call, drain: drain };
  }
  var name = "allegro_sdk.browser.boot_js";
  var module = $B.module.$factory(name);
  $B.module_setattr(module, "post", $B.jsobj2pyobj(post));
  $B.module_setattr(module, "web_locks", $B.jsobj2pyobj(webLocks));
  $B.module_setattr(module, "debug", debug);
  $B.module_setattr(module, "guard", $B.jsobj2pyobj(guard));
  $B.module_setattr(module, "watch_history", $B.jsobj2pyobj(watchHistory));
  $B.module_setattr(module, "deferred_calls", $B.jsobj2pyobj(deferredCalls));
  $B.module_setattr(module, "start_in_slices", $B.jsobj2pyobj(function (more, onLeave) {
    for (var i = 0; i < more.length; i++) steps.push(more[i]);
    prepared = done + steps.length - 1;
    leaveHooks.push(onLeave);
    if (!running) schedule();
  }));
  $B.module_setattr(module, "current_script", currentScript ? $B.jsobj2pyobj(currentScript) : $B.builtins.None);
  $B.imported[name] = module;
}
