// Minifies the assembled bundle (stdin) with terser; writes the result to stdout.
"use strict";
const fs = require("fs");
const { minify } = require("terser");

minify(fs.readFileSync(0, "utf8"), {
  ecma: 2020,
  compress: { passes: 2 },
  mangle: true,
  format: { comments: false, ascii_only: true },
}).then(
  (result) => process.stdout.write(result.code),
  (err) => {
    process.stderr.write(String(err) + "\n");
    process.exit(1);
  },
);
