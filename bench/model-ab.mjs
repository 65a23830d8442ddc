// A/B of the Wasm replay on the TLB-model traces (bench/model.bench.mjs) between two builds, in
// one process, interleaved (alternating which build goes first), medians of CPU-time rates:
//   node bench/model-ab.mjs <A/dist> <B/dist> [traces] [accesses] [reps]
// traces: comma-separated names of MODEL_TRACES; a name with "-demand" (e.g. hot-demand) replays
// that trace demand-mapped. Defaults: every trace, 2^22 accesses, 5 repetitions. The native sides
// are not run (bench/run.mjs --only model compares against them). Benchmarks never assert.
import os from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { wasmModelReplay, MODEL_TRACES } from "./model.bench.mjs";

const [a, b, tr = MODEL_TRACES.join(","), nArg = String(1 << 22), repsArg = "5"] = process.argv.slice(2);
if (!a || !b) { console.error("usage: node bench/model-ab.mjs <A/dist> <B/dist> [traces] [accesses] [reps]"); process.exit(2); }
const libs = await Promise.all([a, b].map((d) => import(pathToFileURL(resolve(d, "index.js")).href)));
const traces = tr.split(",");
const n = Number(nArg), reps = Number(repsArg);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
const run = (t, count, lib) => wasmModelReplay(t.replace(/-demand$/, ""), count, lib, { demand: t.endsWith("-demand") });

console.log(`model A/B: A = ${a}, B = ${b}; ${n} accesses, ${reps} repetitions, medians (M accesses/s of CPU time); load ${load()}`);
for (const t of traces) for (const lib of libs) await run(t, 1 << 20, lib);   // warm-up: let V8 tier up both
const got = Object.fromEntries(traces.map((t) => [t, [[], []]]));
for (let r = 0; r < reps; r++) {
  for (const t of traces) {
    for (const k of r % 2 ? [1, 0] : [0, 1]) {
      const w = await run(t, n, libs[k]);
      got[t][k].push((w.records / w.ns) * 1000);
    }
  }
}
console.log("  | trace | A | B | B / A |");
console.log("  |---|---:|---:|---:|");
for (const t of traces) {
  const [x, y] = got[t].map(median);
  console.log(`  | ${t} | ${x.toFixed(1)} | ${y.toFixed(1)} | ${(y / x).toFixed(3)} |`);
}
console.log(`load after ${load()}`);
