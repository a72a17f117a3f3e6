// Bundle boot, run inside the bundle's closure after the runtime and the module table.
// MODULES: {name: [imports, is_package, function(locals_name){...}]}; MAIN: the __main__ function.
(function ($B) {
  // Debug mode: data-debug on the SDK's script tag, or allegro_debug=1 in the page's query.
  // Without it an internal error is one "allegro:" line; with it, also Brython's traceback,
  // and the SDK logs each event, request and answer (docs/sdk.md, "Debug mode").
  var script = document.currentScript;
  var debug =
    !!(script && script.hasAttribute("data-debug")) ||
    /^\?(.*&)?allegro_debug=1(&|$)/.test(location.search);
  var showTraceback = $B.show_error;
  function describe(err) {
    try {
      var exc = $B.exception(err);
      var text = $B.builtins.str.$factory(exc);
      return $B.class_name(exc) + (text ? ": " + text : "");
    } catch (ignored) {
      return String(err);
    }
  }
  function report(err, what, consequence) {
    if (debug) {
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
  $B.handle_error = function (err) {
    if (err && err.$handled) return;
    if (err) err.$handled = true;
    report(err, "internal error", "tracking goes on, but what the SDK was doing may be lost");
  };
  $B.$options = { args: $B.$list([]) };
  $B.$options = $B.parse_options({ debug: 1 });
  $B.use_VFS = true;
  var table = {};
  for (var name in MODULES) {
    var entry = MODULES[name];
    table[name] = [".py", "", entry[0], entry[1]];
    $B.precompiled[name] = entry[1] ? [entry[2]] : entry[2];
  }
  $B.update_VFS(table);
  registerNativeFetch($B, debug);
  var main = $B.module.$factory("__main__");
  main.__file__ = "__main__.py";
  $B.imported.__main__ = main;
  try {
    MAIN();
  } catch (err) {
    report(err, "the SDK failed to start", "events will not be tracked on this page");
  }
})(__BRYTHON__);

// The SDK's only hand-written JavaScript, which Python imports as allegro_sdk.browser.native.
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
function registerNativeFetch($B, debug) {
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
  var name = "allegro_sdk.browser.native";
  var module = $B.module.$factory(name);
  $B.module_setattr(module, "post", $B.jsobj2pyobj(post));
  $B.module_setattr(module, "web_locks", $B.jsobj2pyobj(webLocks));
  $B.module_setattr(module, "debug", debug);
  $B.module_setattr(module, "guard", $B.jsobj2pyobj(guard));
  $B.module_setattr(module, "watch_history", $B.jsobj2pyobj(watchHistory));
  $B.imported[name] = module;
}
