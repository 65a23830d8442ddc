// The pointer chase of chase.c replayed through wasmmu, side by side with the machine's curve:
//   node bench/pointer-chase/compare.mjs [--cpu zen4] [--layouts 4k,32k,2m,1g,512g] [--max 8192]
//       [--measured file] [--ghz-ratio R] [--caches all]
// For each layout and page count N it replays the same access pattern (one 8-byte load per page,
// a random cyclic order, page i's load at line i mod 64; warm-up of 2N loads, then the measured
// loads) on a fresh machine with the preset, and prints cycles per access. --measured takes
// chase.c's output ("layout N tsc_per_access" lines; run `gcc -O2 -o chase chase.c && ./chase
// <layout>` per layout) and prints it beside, converted to core cycles with --ghz-ratio (core
// clock / TSC clock; default: the ratio that makes the smallest N's measured value equal the
// model's, i.e. the L1D hit calibrates the clock). Knees: the N where cycles per access first
// rise by more than 30 % and 2 cycles over the previous point. Benchmarks never assert.
import { readFileSync } from "node:fs";
import * as wasmmu from "../../dist/index.js";

const { Machine, Replayer, DemandMapper, REC_KIND, REC_USER } = wasmmu;
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const cpu = opt("--cpu", "zen4");
const layouts = opt("--layouts", "4k,32k,2m,1g,512g").split(",");
const maxPages = Number(opt("--max", "8192"));
const caches = opt("--caches", "all");
const STRIDE = { "4k": 4096, "32k": 32768, "2m": 2 ** 21, "1g": 2 ** 30, "512g": 2 ** 39 };
const POINTS = [16, 32, 48, 64, 80, 96, 112, 128, 192, 256, 384, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 3072, 4096, 6144, 8192, 16384, 32768];
const BASE = 2 ** 40;   // 1 TiB: every layout's span fits below 128 TiB

/** A random cyclic order of 0..n-1 (seeded; not chase.c's exact order, the same kind of pattern). */
function cycle(n) {
  let s = 0x2545f491;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = rnd() % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  return order;
}

async function modelPoint(layout, n) {
  const m = await Machine.create({ cpu, caches, ram: "2GiB", memory: "tables-only", backedFrames: 40000, traceBatch: 1 << 16 });
  const r = new Replayer(m, new DemandMapper(m).policy);
  const order = cycle(n);
  const stride = STRIDE[layout];
  const addr = (p) => BASE + p * stride + (p % 64) * 64;
  const measured = Math.max(4 * n, 200000);
  let k = 0;
  const feed = async (count) => {
    for (let done = 0; done < count; ) {
      const chunk = Math.min(r.batch.capacity, count - done);
      for (let i = 0; i < chunk; i++, k++) { const va = addr(order[k % n]); r.batch.set(i, va >>> 0, Math.floor(va / 2 ** 32), 8, REC_KIND.read | REC_USER, 0); }
      const res = r.run(chunk);
      if (res.stopped) throw new Error(`replay stopped: ${res.stopped.reason}`);
      done += chunk;
    }
  };
  await feed(2 * n);
  const a = m.counters(0);
  await feed(measured);
  const b = m.counters(0);
  const d = (name) => Number(b[name] - a[name]);
  return { cycles: d("cycles") / d("access_load"), l1: d("tlb_l1d_hit") / d("access_load"), walks: d("dtlb_load_misses.miss_causes_a_walk") / d("access_load") };
}

function knees(points) {
  const out = [];
  for (let i = 1; i < points.length; i++) {
    const [, c] = points[i], [, p] = points[i - 1];
    if (c > 1.3 * p && c - p > 2) out.push(points[i][0]);
  }
  return out;
}

const measuredFile = opt("--measured", undefined);
const measured = {};
if (measuredFile) for (const line of readFileSync(measuredFile, "utf8").split("\n")) {
  const [l, n, c] = line.trim().split(/\s+/);
  if (c !== undefined) (measured[l] ??= new Map()).set(Number(n), Number(c));
}

console.log(`pointer chase: wasmmu ${cpu} (caches ${caches}) against ${measuredFile ?? "no measurement"}; cycles per access`);
for (const layout of layouts) {
  const limit = Math.min(maxPages, Math.floor(2 ** 46 / STRIDE[layout]));
  const model = [];
  for (const n of POINTS.filter((x) => x <= limit)) model.push([n, await modelPoint(layout, n)]);
  const meas = measured[layout];
  const ratio = Number(opt("--ghz-ratio", meas?.has(model[0][0]) ? String(model[0][1].cycles / meas.get(model[0][0])) : "1"));
  console.log(`\n${layout}${meas ? ` (measured × ${ratio.toFixed(3)} to core cycles)` : ""}`);
  console.log("  |      N | measured | wasmmu | L1 DTLB hit | walks/access |");
  console.log("  |-------:|---------:|-------:|------------:|-------------:|");
  for (const [n, p] of model) {
    const mv = meas?.get(n);
    console.log(`  | ${String(n).padStart(6)} | ${mv === undefined ? "       -" : (mv * ratio).toFixed(1).padStart(8)} | ${p.cycles.toFixed(1).padStart(6)} | ${(p.l1 * 100).toFixed(1).padStart(10)}% | ${p.walks.toFixed(3).padStart(12)} |`);
  }
  console.log(`  knees (N): wasmmu ${knees(model.map(([n, p]) => [n, p.cycles])).join(", ") || "none"}${meas ? `; measured ${knees(model.filter(([n]) => meas.has(n)).map(([n]) => [n, meas.get(n) * ratio])).join(", ") || "none"}` : ""}`);
}
