// The "require" condition of every entry in package.json's exports map points here: wasmmu is
// published as ES modules only, and `require("wasmmu")` should say so and how to load it, rather
// than fail with ERR_PACKAGE_PATH_NOT_EXPORTED (older Node) or load differently depending on the
// Node version (require(esm) is unflagged only from Node 20.19 / 22.12). Copied into dist/ by
// scripts/build.mjs.
"use strict";
const err = new Error(
  "wasmmu is an ES module package and cannot be loaded with require().\n" +
  "  In an ES module (.mjs, or \"type\": \"module\" in package.json):\n" +
  "    import { Machine } from \"wasmmu\";             // or \"wasmmu/node\", \"wasmmu/browser\"\n" +
  "  In CommonJS, use a dynamic import:\n" +
  "    const { Machine } = await import(\"wasmmu\");"
);
err.code = "ERR_REQUIRE_ESM";
throw err;
