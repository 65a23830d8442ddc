// A/B of swap round trips (bench/swap.bench.mjs) between two builds, in one process, interleaved
// (on a shared machine the drift between processes is larger than the differences this is for):
//   node bench/swap-ab.mjs <A/dist> <B/dist> [--pages N] [--rounds N] [--reps N]
// Each round runs benchSwapRoundTrip (medians of --reps repetitions after a warm-up) on A, then on
// B (alternating which goes first), with the same harness code for both builds. Prints wall and
// per-CPU-second rates per run, their medians and B/A. Benchmarks never assert; they measure.
import os from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { benchSwapRoundTrip } from "./swap.bench.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const dirs = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
if (dirs.length !== 2) { console.error("usage: node bench/swap-ab.mjs <A/dist> <B/dist> [--pages N] [--rounds N] [--reps N]"); process.exit(2); }
const pages = opt("--pages", 32_768);
const rounds = opt("--rounds", 5);
const reps = opt("--reps", 5);
const libs = await Promise.all(dirs.map((d) => import(pathToFileURL(resolve(d, "index.js")).href)));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const k = (x) => (x / 1e3).toFixed(0);

console.log(`swap A/B — ${new Date().toISOString()}, ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`A = ${dirs[0]}, B = ${dirs[1]}; ${pages} pages, ${rounds} rounds of ${reps} repetitions (k pages/s; round trips k/s wall and per CPU-second)`);
const res = [[], []];
for (let r = 0; r < rounds; r++) {
  for (const which of r % 2 ? [1, 0] : [0, 1]) {
    const x = await benchSwapRoundTrip(pages, reps, libs[which]);
    res[which].push(x);
    console.log(`${"AB"[which]}  out ${k(x.outPerSec)}  in ${k(x.inPerSec)}  round trips ${k(x.roundTripsPerSec)} wall, ${k(x.roundTripsPerCpuSec)} per CPU-s`);
  }
}
const wall = res.map((xs) => median(xs.map((x) => x.roundTripsPerSec)));
const cpu = res.map((xs) => median(xs.map((x) => x.roundTripsPerCpuSec)));
for (const i of [0, 1]) console.log(`${"AB"[i]} medians: out ${k(median(res[i].map((x) => x.outPerSec)))}, in ${k(median(res[i].map((x) => x.inPerSec)))}, round trips ${k(wall[i])} wall (best ${k(Math.max(...res[i].map((x) => x.roundTripsPerSec)))}), ${k(cpu[i])} per CPU-s`);
console.log(`B/A: wall ${(wall[1] / wall[0]).toFixed(3)}, per CPU-second ${(cpu[1] / cpu[0]).toFixed(3)}; load average now ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
