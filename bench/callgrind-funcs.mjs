// Instructions per JIT-compiled function of one replay pass, under valgrind's callgrind: a count
// that repeats to ~0.03 % between runs (node --predictable: no concurrent compilation or GC), where
// CPU-time rates on a shared machine move by ±3 %. For steps of a few percent of a path (issue
// #17's demand faults: hundreds of instructions per fault) the count shows what timing cannot.
//   node bench/callgrind-funcs.mjs <dist> [trace] [accesses] [demand|pre] [top]
// Defaults: hot, 2^20 accesses, demand, 25 rows. Needs valgrind; takes ~20 s for 2^20 records.
// Wasm functions are named from build/core.release.wat (the dist must be built from this tree's
// core, or pass WAT=path). Counts are self instructions, not time: a cache miss counts once.
// The pass is untimed here and the counts include the machine's set-up and the trace generator;
// compare builds function by function (unchanged functions give identical counts).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const [dist, trace = "hot", nArg = String(1 << 20), mode = "demand", topArg = "25"] = process.argv.slice(2);

if (process.env.CALLGRIND_CHILD) {
  // The child: one pass under valgrind.
  const lib = await import(pathToFileURL(resolve(dist, "index.js")).href);
  const { wasmModelReplay } = await import(pathToFileURL(join(HERE, "model.bench.mjs")).href);
  const w = await wasmModelReplay(trace, Number(nArg), lib, { demand: mode === "demand" });
  console.log(JSON.stringify({ faults: w.faults, walks: w.walks, accesses: w.accesses }));
  process.exit(0);
}
if (!dist) { console.error("usage: node bench/callgrind-funcs.mjs <dist> [trace] [accesses] [demand|pre] [top]"); process.exit(2); }

const dir = mkdtempSync(join(tmpdir(), "wasmmu-clg-"));
const out = join(dir, "callgrind.out");
const log = execFileSync("valgrind", ["--tool=callgrind", "--dump-instr=yes", "--smc-check=all-non-file", `--callgrind-out-file=${out}`,
  process.execPath, "--predictable", "--no-liftoff", "--perf-prof", fileURLToPath(import.meta.url), resolve(dist), trace, nArg, mode],
  { cwd: dir, env: { ...process.env, CALLGRIND_CHILD: "1" }, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

// Wasm function names by index, imports first (the order V8 numbers them in).
const names = [];
const wat = readFileSync(process.env.WAT ?? join(HERE, "../build/core.release.wat"), "utf8");
for (const m of wat.matchAll(/^ \(import "[^"]*" "[^"]*" \(func (\$\S+)/gm)) names.push(m[1]);
for (const m of wat.matchAll(/^ \(func (\$\S+)/gm)) names.push(m[1]);

// Code ranges from V8's jitdump (--perf-prof): JIT_CODE_LOAD records (id 0).
const dump = readFileSync(join(dir, readdirSync(dir).find((f) => f.startsWith("jit-") && f.endsWith(".dump"))));
const ranges = [];
for (let off = dump.readUInt32LE(8); off + 16 <= dump.length;) {
  const id = dump.readUInt32LE(off), size = dump.readUInt32LE(off + 4);
  if (size === 0) break;
  if (id === 0) {
    const addr = Number(dump.readBigUInt64LE(off + 32)), len = Number(dump.readBigUInt64LE(off + 40));
    let e = off + 56;
    while (dump[e] !== 0) e++;
    const name = dump.toString("utf8", off + 56, e).replace(/wasm-function\[(\d+)\]/, (s, n) => names[+n] ?? s);
    ranges.push([addr, addr + len, name]);
  }
  off += size;
}
ranges.sort((x, y) => x[0] - y[0]);
const find = (a) => {
  let lo = 0, hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][1] <= a) lo = mid + 1; else if (ranges[mid][0] > a) hi = mid - 1; else return ranges[mid][2];
  }
  return null;
};

// callgrind's per-instruction lines: "<addr> <line> <Ir>", addresses absolute (0x…) or relative
// (+n, -n, *); the line after "calls=" is the call's inclusive cost, not the caller's own.
const self = new Map();
let addr = 0, skip = false;
for (const line of readFileSync(out, "utf8").split("\n")) {
  if (line.startsWith("calls=")) { skip = true; continue; }
  const m = /^(0x[0-9a-f]+|\+\d+|-\d+|\*)\s+\S+\s+(\d+)/.exec(line);
  if (!m) continue;
  const p = m[1];
  if (p.startsWith("0x")) addr = parseInt(p, 16); else if (p[0] === "+") addr += Number(p.slice(1)); else if (p[0] === "-") addr -= Number(p.slice(1));
  if (skip) { skip = false; continue; }
  const n = find(addr);
  if (n !== null) self.set(n, (self.get(n) ?? 0) + Number(m[2]));
}
const run = JSON.parse(log.trim().split("\n").pop());
console.log(`${trace} ${mode}, ${nArg} accesses: ${run.faults} faults, ${run.walks} walks; self instructions per JIT function (per fault in the last column)`);
for (const [k, v] of [...self].sort((x, y) => y[1] - x[1]).slice(0, Number(topArg))) {
  console.log(`${String(v).padStart(12)}  ${(v / Math.max(1, run.faults)).toFixed(1).padStart(8)}  ${k}`);
}
writeFileSync(join(dir, "done"), "");
