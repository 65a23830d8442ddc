// A/B of the replay loop between two builds, in one process, interleaved (the machine's drift
// between processes is larger than the differences this is for):
//   node bench/replay-ab.mjs <A/dist> <B/dist> [--accesses N] [--reps N] [--traces hot,seq] [--stamps-b] [--caches-a walks|all] [--caches-b walks|all] [--cpu NAME] [--cpu-time]
// Each repetition replays every trace of replay.bench.mjs on A, then on B (alternating which goes
// first), and prints the medians and B/A per trace. --stamps-b: B replays with the core's access
// stamps on (what exact LRU page replacement costs; A and B may be the same build). --caches-b M:
// B replays with skylake's cache hierarchy in mode M (walks or all) on the same TLBs; --caches-a M
// the same for A (two builds' cache models against each other); --cpu NAME: the hierarchy of preset
// NAME (golden-cove, zen4) instead of skylake's, for both. Benchmarks
// never assert; they measure. --cpu-time: rates from the process's CPU time rather than wall time
// (on a machine shared with other busy processes, wall time also counts their turns).
import os from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TRACES, wasmReplay } from "./replay.bench.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const FLAGS = new Set(["--stamps-b", "--cpu-time"]);
const dirs = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--") && !FLAGS.has(args[i - 1])));
const stampsB = args.includes("--stamps-b");
const cachesB = opt("--caches-b", undefined);
const cachesA = opt("--caches-a", undefined);
const cachesCpu = opt("--cpu", "skylake");
// --cpu-time: rate over the process's CPU time instead of wall time (a loaded machine's wall time
// includes waiting for a core).
const cpuTime = args.includes("--cpu-time");
if (dirs.length !== 2) { console.error("usage: node bench/replay-ab.mjs <A/dist> <B/dist> [--accesses N] [--reps N] [--traces t1,t2]"); process.exit(2); }
const n = Number(opt("--accesses", String(1 << 23)));
const reps = Number(opt("--reps", "5"));
const traces = opt("--traces", TRACES.join(",")).split(",");
const libs = await Promise.all(dirs.map((d) => import(pathToFileURL(resolve(d, "index.js")).href)));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`replay A/B — ${new Date().toISOString()}`);
console.log(`machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, node ${process.version}; load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log(`A = ${dirs[0]}${cachesA ? ` with ${cachesCpu}'s caches ${cachesA}` : ""}, B = ${dirs[1]}${stampsB ? " with access stamps on" : ""}${cachesB ? ` with ${cachesCpu}'s caches ${cachesB}` : ""}; ${n} accesses per trace, ${reps} repetitions, medians (M accesses/s${cpuTime ? " of CPU time" : ""})`);
for (const [k, lib] of libs.entries()) for (const t of traces) await wasmReplay(t, 1 << 20, lib, { stamps: k === 1 && stampsB, caches: k === 1 ? cachesB : cachesA, cachesCpu }); // warm-up: let V8 tier up both
const got = Object.fromEntries(traces.map((t) => [t, [[], []]]));
for (let r = 0; r < reps; r++) {
  for (const t of traces) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) {
      const w = await wasmReplay(t, n, libs[k], { stamps: k === 1 && stampsB, caches: k === 1 ? cachesB : cachesA, cachesCpu });
      got[t][k].push((w.accesses / (cpuTime ? w.cpuNs : w.ns)) * 1000);
    }
  }
}
console.log("  | trace | A M acc/s | B M acc/s | B / A | B / A per repetition |");
console.log("  |---|---:|---:|---:|---|");
for (const t of traces) {
  const [a, b] = got[t];
  const ratios = a.map((x, i) => (b[i] / x).toFixed(3)).join(" ");
  console.log(`  | ${t} | ${median(a).toFixed(1)} | ${median(b).toFixed(1)} | ${(median(b) / median(a)).toFixed(3)} | ${ratios} |`);
}
console.log(`load after: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
