// Bundle boot, run inside the bundle's closure after the runtime and the module table.
// MODULES: {name: [imports, is_package, function(locals_name){...}]}; MAIN: the __main__ function.
(function ($B) {
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
  registerFetchAndLocks($B);
  var main = $B.module.$factory("__main__");
  main.__file__ = "__main__.py";
  $B.imported.__main__ = main;
  try {
    MAIN();
  } catch (err) {
    try {
      $B.handle_error(err);
    } catch (ignored) {
      // The runtime could not even report its error: say it plainly, never throw into the page.
    }
    console.error("allegro: the SDK failed to start; events will not be tracked on this page.");
  }
})(__BRYTHON__);

// The SDK's only hand-written JavaScript, which Python imports as
// allegro_sdk.browser.fetch_and_locks (typed for mypy by allegro_sdk/browser/fetch_and_locks.pyi).
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
function registerFetchAndLocks($B) {
  function post(url, body, headersJson, keepalive, beacon, onResponse, onFailure) {
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
    hold: function (name, held) { request(name, false, function () { held(); }); },
    take_if_free: function (name, answer) { request(name, true, answer); },
    release: function (name) {
      var resolve = releases[name];
      delete releases[name];
      if (resolve) resolve();
    },
  };
  var name = "allegro_sdk.browser.fetch_and_locks";
  var module = $B.module.$factory(name);
  $B.module_setattr(module, "post", $B.jsobj2pyobj(post));
  $B.module_setattr(module, "web_locks", $B.jsobj2pyobj(webLocks));
  $B.imported[name] = module;
}
