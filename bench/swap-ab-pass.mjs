// Fine-grained A/B of swap round trips between two builds, for a loaded machine: both builds set
// up the benchmark of bench/swap.bench.mjs (32,768 pages of data, a 256 MiB machine, the in-memory
// backend) in one process, then one pass of A and one of B alternate N times (MADV_PAGEOUT of the
// range, then the replay loop writing one byte per page: every page out and back). Alternating
// every ~0.3 s instead of every few seconds puts both builds under the same load bursts.
//   node bench/swap-ab-pass.mjs <A/dist> <B/dist> [N]
// Prints nanoseconds per round trip (process CPU time and wall time; min / p25 / median over the
// passes; "out": the MADV_PAGEOUT part alone) and B's speed over A's. Benchmarks never assert.
import os from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { swapWorkload } from "./swap.bench.mjs";

const pages = 32_768;
const dirs = process.argv.slice(2, 4);
const N = Number(process.argv[4] ?? 30);
if (dirs.length !== 2) { console.error("usage: node bench/swap-ab-pass.mjs <A/dist> <B/dist> [passes]"); process.exit(2); }

async function setup(dir) {
  const { pageout, swapIn } = await swapWorkload(await import(pathToFileURL(resolve(dir, "index.js")).href), pages);
  const pass = () => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    pageout();
    const t1 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    swapIn();
    const t2 = process.hrtime.bigint();
    const c2 = process.cpuUsage(c0);
    return { outCpu: ((c1.user + c1.system) * 1000) / pages, cpu: ((c2.user + c2.system) * 1000) / pages, outWall: Number(t1 - t0) / pages, wall: Number(t2 - t0) / pages };
  };
  for (let i = 0; i < 3; i++) pass(); // warm-up
  return pass;
}

const passes = [await setup(dirs[0]), await setup(dirs[1])];
const res = [[], []];
for (let i = 0; i < N; i++) for (const w of i % 2 ? [1, 0] : [0, 1]) res[w].push(passes[w]());
const q = (xs, f) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(f * (s.length - 1))]; };
const fmt = (r, k) => [0, 0.25, 0.5].map((f) => q(r.map((y) => y[k]), f).toFixed(0)).join(" / ");
console.log(`swap A/B per pass — ${new Date().toISOString()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; A = ${dirs[0]}, B = ${dirs[1]}; ${N} passes each`);
console.log("ns per round trip, min / p25 / median:");
for (const w of [0, 1]) console.log(`${"AB"[w]}  cpu ${fmt(res[w], "cpu")}  wall ${fmt(res[w], "wall")}  (out: cpu ${fmt(res[w], "outCpu")}, wall ${fmt(res[w], "outWall")})`);
for (const k of ["cpu", "wall"]) {
  const r = (f) => (q(res[0].map((y) => y[k]), f) / q(res[1].map((y) => y[k]), f)).toFixed(3);
  console.log(`B/A speed, ${k}: min ${r(0)}, p25 ${r(0.25)}, median ${r(0.5)}`);
}
