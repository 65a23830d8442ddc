#!/usr/bin/env node
// The `wasmmu` command. With --debug, stack traces go through the source maps esbuild wrote beside
// dist/ (they carry the sources), so they name src/ files and lines; Node applies maps only to
// modules loaded after they are enabled, hence the dynamic import.
if (process.argv.includes("--debug")) process.setSourceMapsEnabled(true);
const { main } = await import("../dist/cli.js");

process.exitCode = await main(process.argv.slice(2));
