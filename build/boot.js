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
