#!/usr/bin/env node
// The published surface, checked as a user meets it: `npm pack`, the tarball installed into a
// scratch project, a TypeScript file per entry type-checked with `strict` (the browser-safe entries
// without @types/node, and with skipLibCheck off, so the package's own .d.ts files are checked too),
// then compiled and run with node; require() of every entry; the installed `wasmmu` command.
//
//   node scripts/pack-check.mjs [--summary out.json] [--keep]
//
// Prints one line per check and ends with "pack-check: N passed, N failed" (exit 1 on a failure);
// --summary also writes { passed, failed, checks } for CI (.ci/run adds them to its count);
// --keep leaves the scratch folder for a look.
//
// Installing needs the package's runtime dependencies (package.json "dependencies"). npm install
// runs with --prefer-offline: after `npm ci` (CI's first step) they are in npm's cache, so nothing
// is downloaded; otherwise npm fetches them from the registry. The type checker and @types/node
// come from this repository's node_modules (typeRoots), so the scratch project installs nothing
// but the tarball.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const summaryAt = args.includes("--summary") ? args[args.indexOf("--summary") + 1] : null;
const keep = args.includes("--keep");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const tsc = join(root, "node_modules/typescript/bin/tsc");
const started = performance.now();

const results = [];
/** Run one check: a name and a function that throws to fail. */
async function check(name, fn) {
  const t = performance.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ok    ${name} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, error: String(e?.message ?? e) });
    console.log(`  FAIL  ${name}\n${String(e?.message ?? e).replace(/^/gm, "        ")}`);
  }
}

/** Run a command; throw with its output when it fails. @returns its stdout */
function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${[cmd, ...argv].join(" ")} exited with ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`.trim());
  return r.stdout;
}

const scratch = mkdtempSync(join(tmpdir(), "wasmmu-pack-"));
const project = join(scratch, "project");
let tarball = null;

// The files a user's project holds.
const BROWSER_TS = `// Uses the browser-safe entries; checked without @types/node.
import { Machine, PageTableBuilder, Linux, mman, PROT_READ, PROT_WRITE, WasmmuError, decodeTrace, type Translation } from "wasmmu";
import * as browser from "wasmmu/browser";

export async function browserChecks(): Promise<string[]> {
  const out: string[] = [];
  for (const lib of [{ Machine, PageTableBuilder }, browser]) {
    const m = await lib.Machine.create({ ram: "16MiB" });
    const pt = new lib.PageTableBuilder(m, { start: 0x100000, end: 0x200000 });
    pt.map(0x7000_0000_0000n, 0x30_0000n, { user: true, write: true });
    if (m.cpu(0).writeCr3(pt.root) !== null) throw new Error("CR3 write faulted");
    const t: Translation = m.translate(0x7000_0000_0abcn, { kind: "write", cpl: 3 });
    if (!t.ok || t.paddr !== 0x30_0abcn) throw new Error("translation: " + JSON.stringify(t, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    out.push("translate " + t.paddr.toString(16));
  }
  const linux = Linux.boot(await Machine.create({ ram: "64MiB" }));
  const p = linux.spawn({ name: "check" });
  const va = p.mmap(0, 4096, PROT_READ | PROT_WRITE, mman.MAP_PRIVATE | mman.MAP_ANONYMOUS);
  if (typeof va !== "bigint") throw va;
  p.write(va, "hi");
  out.push("minflt " + p.minFlt);
  const chunk = decodeTrace("text", "R 0x1000 8\\nW 0x2000 4\\n");
  out.push("records " + chunk.count);
  try {
    await browser.Machine.create({ ram: "7 parsecs" });
  } catch (e) {
    out.push(e instanceof browser.WasmmuError ? "browser error " + e.code : "wrong error");
  }
  try {
    await Machine.create({ rma: "1GiB" } as never);
  } catch (e) {
    out.push(e instanceof WasmmuError ? "error " + e.code : "wrong error");
  }
  return out;
}
`;

const NODE_TS = `// Uses wasmmu/node (with @types/node, as a Node project has it).
import { replayTrace, resolveReplayOptions, openTrace, openSwapFile, NodeFileSource, Machine, Linux, WasmmuError, type ReplaySummary, type ReplayTraceOptions } from "wasmmu/node";
import { browserChecks } from "./browser.js";
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const trace = require.resolve("wasmmu/package.json").replace(/package\\.json$/, "examples/traces/qsort.lackey.gz");
const out: string[] = await browserChecks();

const all: ReplaySummary = await replayTrace(trace);                // every option left out
out.push("replay " + all.accesses + " " + all.partial);
const some: ReplayTraceOptions = { cpu: "zen4", limit: 10_000, os: {} };
const s = await replayTrace(trace, some);
out.push("replay-os " + s.accesses + " " + (s.kernel?.reclaim ?? "none"));
const ac = new AbortController();
ac.abort();
out.push("aborted " + (await replayTrace(trace, { signal: ac.signal })).partial);
out.push("defaults " + JSON.stringify(resolveReplayOptions({}), (k, v) => (typeof v === "function" ? "fn" : v)));
try {
  await replayTrace(trace, { limt: 5 } as ReplayTraceOptions);
} catch (e) {
  out.push(e instanceof WasmmuError ? "error " + e.code + " " + String(e.details.option) : "wrong error");
}
const t = await openTrace(trace, { chunkRecords: 4096 });
let n = 0;
for await (const c of t.chunks) n += c.count;
out.push("open " + t.info.format + " " + t.info.compression + " " + n);
const linux = Linux.boot(await Machine.create({ ram: "32MiB" }));
const swap = await openSwapFile("swap.img", 1 << 20);
linux.swapon("/swap", swap);
out.push("swap " + swap.pages);
writeFileSync("data.bin", "0123456789");
out.push("file " + new NodeFileSource("data.bin").size);
console.log(out.join("\\n"));
`;

const REQUIRE_CJS = `// require() of every entry: an error that says the package is ESM-only, and how to load it.
const out = [];
for (const entry of ["wasmmu", "wasmmu/node", "wasmmu/browser"]) {
  try {
    require(entry);
    out.push(entry + " loaded");
  } catch (e) {
    out.push(entry + " " + e.code + " " + (/ES module/.test(e.message) && /await import\\("wasmmu"\\)/.test(e.message)));
  }
}
import("wasmmu").then((m) => {
  out.push("dynamic import " + typeof m.Machine.create);
  console.log(out.join("\\n"));
});
`;

const tsconfig = (files, types, lib, skipLibCheck) => JSON.stringify({
  compilerOptions: {
    strict: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib, types,
    typeRoots: [join(root, "node_modules/@types")], skipLibCheck, outDir: "out", rootDir: ".", declaration: false,
  },
  files,
}, null, 2);

try {
  console.log(`pack-check: wasmmu ${pkg.version} (node ${process.version}, npm ${sh("npm", ["--version"]).trim()}) in ${scratch}`);
  await check("npm pack", () => {
    sh(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    const packed = JSON.parse(sh("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", scratch], { cwd: root }));
    tarball = join(scratch, packed[0].filename);
    const files = new Set(packed[0].files.map((f) => f.path));
    const want = ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "bin/wasmmu.js", "dist/index.js", "dist/index.d.ts", "dist/node.js", "dist/node.d.ts",
      "dist/wasmmu.browser.js", "dist/esm-only.cjs", "dist/cli.js", "examples/traces/qsort.lackey.gz",
      "schemas/replay.schema.json", "schemas/sweep.schema.json"];
    const missing = want.filter((f) => !files.has(f));
    const extra = [...files].filter((f) => /^(src|test|assembly|build|scripts|bench)\//.test(f));
    if (missing.length > 0 || extra.length > 0) throw new Error(`missing: ${missing.join(", ") || "none"}; should not be packed: ${extra.slice(0, 5).join(", ") || "none"}`);
    for (const [entry, target] of Object.entries(pkg.exports)) {
      const targets = typeof target === "string" ? [target] : Object.values(target);
      for (const t of targets) if (!files.has(t.replace(/^\.\//, ""))) throw new Error(`exports["${entry}"] points to ${t}, which is not in the tarball`);
    }
  });

  await check("npm install <tarball> (its dependencies: " + Object.keys(pkg.dependencies ?? {}).join(", ") + ")", () => {
    if (tarball === null) throw new Error("no tarball");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pack-check", private: true, type: "module" }, null, 2));
    sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: project });
    const installed = JSON.parse(readFileSync(join(project, "node_modules/wasmmu/package.json"), "utf8"));
    if (installed.version !== pkg.version) throw new Error(`installed ${installed.version}, packed ${pkg.version}`);
    for (const dep of Object.keys(pkg.dependencies ?? {})) readFileSync(join(project, "node_modules", dep, "package.json"));
    writeFileSync(join(project, "browser.ts"), BROWSER_TS);
    writeFileSync(join(project, "node.ts"), NODE_TS);
    writeFileSync(join(project, "require.cjs"), REQUIRE_CJS);
    writeFileSync(join(project, "tsconfig.browser.json"), tsconfig(["browser.ts"], [], ["ES2022", "DOM"], false));
    // A Node project as `tsc --init` makes one: no DOM lib, skipLibCheck on. (With skipLibCheck off
    // and no DOM lib, the declarations' WebAssembly.Memory/Module/Global names do not resolve:
    // @types/node 20 does not declare the WebAssembly namespace.)
    writeFileSync(join(project, "tsconfig.json"), tsconfig(["node.ts"], ["node"], ["ES2022"], true));
  });

  await check("wasmmu and wasmmu/browser type-check strict without @types/node (lib ES2022 + DOM, skipLibCheck off)", () => {
    sh(process.execPath, [tsc, "-p", "tsconfig.browser.json", "--noEmit"], { cwd: project });
  });

  await check("wasmmu/node type-checks strict in a Node project (@types/node, lib ES2022 without DOM), and compiles", () => {
    sh(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project });
  });

  await check("the compiled file runs: every entry, replayTrace with options left out, openTrace, swap file", () => {
    const out = sh(process.execPath, ["out/node.js"], { cwd: project });
    const want = [/^translate 300abc$/m, /^minflt 1$/m, /^records 2$/m, /^browser error INVALID_CONFIG$/m, /^error INVALID_CONFIG$/m,
      /^replay 1080194 false$/m, /^replay-os 10000 linux$/m, /^aborted true$/m, /^error INVALID_CONFIG limt$/m,
      /^defaults \{"cpu":"skylake",.*"ram":"1GiB".*"window":10000.*\}$/m, /^open lackey gzip 1080194$/m, /^swap \d+$/m, /^file 10$/m];
    const missing = want.filter((re) => !re.test(out));
    if (missing.length > 0) throw new Error(`output lacks ${missing.join(", ")}:\n${out}`);
  });

  await check("require() of each entry throws ERR_REQUIRE_ESM saying how to import; import() from CommonJS works", () => {
    const out = sh(process.execPath, ["require.cjs"], { cwd: project });
    const want = "wasmmu ERR_REQUIRE_ESM true\nwasmmu/node ERR_REQUIRE_ESM true\nwasmmu/browser ERR_REQUIRE_ESM true\ndynamic import function\n";
    if (out !== want) throw new Error(`got:\n${out}`);
  });

  await check("the installed wasmmu command: --version, -V, and a replay of the bundled trace", () => {
    const bin = join(project, "node_modules/.bin/wasmmu");
    for (const flag of ["--version", "-V"]) {
      const v = sh(bin, [flag], { cwd: project });
      if (v !== `wasmmu ${pkg.version}\n`) throw new Error(`wasmmu ${flag} printed ${JSON.stringify(v)}`);
    }
    const out = sh(bin, ["replay", "--limit", "20000", "--quiet"], { cwd: project });
    if (!/^\s+20,000\s+accesses/m.test(out)) throw new Error(`unexpected replay output:\n${out}`);
  });
} finally {
  if (!keep) rmSync(scratch, { recursive: true, force: true });
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`pack-check: ${passed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
if (summaryAt) writeFileSync(summaryAt, JSON.stringify({ passed, failed, checks: results }, null, 2));
process.exitCode = failed > 0 ? 1 : 0;
