// The pointer chase of chase.c replayed through wasmmu, side by side with the machine's curve:
//   npm run build && node bench/pointer-chase/compare.mjs [--cpu zen4] [--vm 4k|2m|1g|none]
//       [--caches all|walks|off] [--layouts 4k,4k-thp,32k,2m,1g,512g] [--max 8192]
//       [--measured file[,file...]] [--ghz-ratio R] [--override psc.pde=256,...]
//       [--frames scattered|dense]
// For each layout and page count N it replays the same access pattern (one 8-byte load per page,
// a random cyclic order, page i's load at line i mod 64; warm-up of 2N loads, then
// max(4N, 200000) measured loads; layout "line": N consecutive lines) on a fresh machine with the preset and prints cycles per access.
// --vm (default 4k): the replay runs as a guest under nested paging over an identity EPT with host
// pages of that size (what `wasmmu replay --vm` does), as the chase does in a KVM guest; "none"
// replays on bare metal. --caches (default all): data and page-table lines compete in the caches,
// as in the chase. --measured takes chase.c's output ("layout N tsc_per_access" lines, "#"
// comments); where several lines give a point (runs at different times, concatenated in one file
// or in several files) it takes their minimum, the run the other processes disturbed least.
// Measured values are converted to core cycles with --ghz-ratio (core clock / TSC clock; default:
// the ratio that makes the measured 4k curve's smallest N equal the model's, an L1D hit).
// --frames (default scattered): where the guest's frames come from. "scattered": from a free list
// in random order over all of RAM, as this machine's guest kernel hands them out (frames.c:
// consecutive pages of the chase got no two adjacent guest-physical frames, 0.84-0.99 EPT-PTE
// lines per page over ~9.4 GiB; measured-epyc9004-kvm-vm-frames.txt), so the data, guest PTE and
// EPT PTE lines of the chase spread over the caches as on the machine; "dense": the buddy
// allocator's order (consecutive frames). The 4k-thp layout (guest 2 MiB pages) is always dense.
// Prints per layout both curves with the knees, then issue 16's targets with PASS / MISS
// (analyse.mjs defines the knees, the STLB-hit penalty and the walk plateaus). Never asserts.
import { readFileSync } from "node:fs";
import * as wasmmu from "../../dist/index.js";
import { knees, l1Knee, stlbKnee, stlbPenalty, walkPlateau, targets, WALK_WINDOWS } from "./analyse.mjs";

const { Machine, Replayer, DemandMapper, REC_KIND, REC_USER, runAsGuest, identityEptFrames } = wasmmu;
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const cpu = opt("--cpu", "zen4");
const vm = opt("--vm", "4k");
const layouts = opt("--layouts", "4k,4k-thp,32k,2m,1g,512g").split(",");
const maxPages = Number(opt("--max", "8192"));
const caches = opt("--caches", "all");
const frames = opt("--frames", "scattered");
if (!["scattered", "dense"].includes(frames)) throw new Error(`--frames must be scattered or dense, got ${frames}`);
// --override path=value[,path=value...]: preset parameters changed for this run (as `wasmmu --set`).
const overrides = Object.fromEntries((opt("--override", "") || "").split(",").filter(Boolean).map((kv) => { const [k, v] = kv.split("="); return [k, Number.isNaN(Number(v)) ? v : Number(v)]; }));
const STRIDE = { line: 64, "4k": 4096, "4k-thp": 4096, "32k": 32768, "2m": 2 ** 21, "1g": 2 ** 30, "512g": 2 ** 39 };
const POINTS = [16, 32, 48, 64, 80, 96, 112, 128, 192, 256, 384, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096, 6144, 8192, 16384, 32768, 65536, 131072, 262144];
const BASE = 2 ** 40;   // 1 TiB: every layout's span fits below 128 TiB
const RAM = 2n << 30n;

if (!["4k", "2m", "1g", "none"].includes(vm)) throw new Error(`--vm must be 4k, 2m, 1g or none, got ${vm}`);

/** A random cyclic order of 0..n-1 (seeded; not chase.c's exact order, the same kind of pattern). */
function cycle(n) {
  let s = 0x2545f491;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = rnd() % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  return order;
}

async function newMachine() {
  const config = { cpu, overrides, caches, ram: RAM, memory: "tables-only", backedFrames: 40000, traceBatch: 1 << 16 };
  if (vm === "none") return Machine.create(config);
  // The EPT's frames at the top of RAM, kept from the guest, as `wasmmu replay --vm` does.
  const area = { start: RAM - BigInt(identityEptFrames(RAM, vm)) * 4096n, end: RAM };
  const m = await Machine.create({ ...config, reserved: [{ start: 0, end: 0x10_0000 }, area] });
  runAsGuest(m, vm, area);
  return m;
}

/**
 * Leave `keep` free frames of `m`, chosen at random over all of RAM and freed in random order, so
 * that the allocator hands out scattered frames (--frames scattered); the rest stay allocated.
 */
function scatterFrames(m, keep) {
  const all = [];
  for (let f; (f = m.frames.allocPage()) !== null; ) all.push(f);
  let z = 0x1234567;
  const rnd = () => { z ^= z << 13; z >>>= 0; z ^= z >>> 17; z ^= z << 5; z >>>= 0; return z; };
  for (let i = 0; i < Math.min(keep, all.length); i++) {
    const j = i + (rnd() % (all.length - i));
    [all[i], all[j]] = [all[j], all[i]];
    m.frames.freePage(all[i]);
  }
}

async function modelPoint(layout, n) {
  const m = await newMachine();
  // Enough for the pages and every guest table they need (at most three per page), and some.
  if (frames === "scattered" && layout !== "4k-thp") scatterFrames(m, 4 * n + 2048);
  // 4k-thp: the guest maps 2 MiB pages (chase.c's MADV_HUGEPAGE); under --vm 4k its TLB entries are still 4 KiB.
  const r = new Replayer(m, new DemandMapper(m, { pages: layout === "4k-thp" ? "2m" : "4k" }).policy);
  const order = cycle(n);
  const stride = STRIDE[layout];
  // chase.c's addresses: page p's load at line p mod 64; the "line" layout loads consecutive lines.
  const addr = (p) => BASE + p * stride + (stride >= 4096 ? (p % 64) * 64 : 0);
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
  const d = (name) => Number((b[name] ?? 0n) - (a[name] ?? 0n));
  const loads = d("access_load");
  return { cycles: d("cycles") / loads, l1: d("tlb_l1d_hit") / loads, walks: d("dtlb_load_misses.miss_causes_a_walk") / loads, ept: d("ept_mem_ref") / loads };
}

const measuredFiles = opt("--measured", undefined);
const raw = {};
if (measuredFiles) for (const file of measuredFiles.split(",")) for (const line of readFileSync(file, "utf8").split("\n")) {
  const [l, n, c] = line.trim().split(/\s+/);
  if (c === undefined || l.startsWith("#") || !Number.isFinite(Number(c))) continue;
  const map = (raw[l] ??= new Map()), prev = map.get(Number(n));
  map.set(Number(n), prev === undefined ? Number(c) : Math.min(prev, Number(c)));
}

const pct = (x) => (x === undefined ? "-" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(0)} %`);
const num = (x) => (x === undefined ? "-" : typeof x === "number" ? x.toFixed(1) : x);
console.log(`pointer chase: wasmmu ${cpu}${Object.keys(overrides).length ? ` (${JSON.stringify(overrides)})` : ""}, ${vm === "none" ? "bare metal" : `VM with ${vm} host pages`}, caches ${caches}, frames ${frames}; against ${measuredFiles ?? "no measurement"}; cycles per access`);
const model = {}, meas = {};
let ratio;
for (const layout of layouts) {
  const limit = Math.min(maxPages, Math.floor(2 ** 46 / STRIDE[layout]));
  const curve = [];
  for (const n of POINTS.filter((x) => x <= limit)) curve.push([n, await modelPoint(layout, n)]);
  model[layout] = curve.map(([n, p]) => [n, p.cycles]);
  const mraw = raw[layout];
  if (mraw && ratio === undefined) {
    const first = raw["4k"]?.get(POINTS[0]) ?? mraw.get(curve[0][0]);
    ratio = Number(opt("--ghz-ratio", String((await modelPoint("4k", POINTS[0])).cycles / first)));
  }
  if (mraw) meas[layout] = curve.filter(([n]) => mraw.has(n)).map(([n]) => [n, mraw.get(n) * ratio]);
  const mm = mraw ? new Map(meas[layout]) : undefined;
  console.log(`\n${layout}${mraw ? ` (measured TSC ticks × ${ratio.toFixed(3)} = core cycles)` : ""}`);
  console.log("  |      N | measured | wasmmu | wasmmu − measured | L1 DTLB hit | walks/access | EPT refs/access |");
  console.log("  |-------:|---------:|-------:|------------------:|------------:|-------------:|----------------:|");
  for (const [n, p] of curve) {
    const mv = mm?.get(n);
    const diff = mv === undefined ? "-" : pct((p.cycles - mv) / mv);
    console.log(`  | ${String(n).padStart(6)} | ${(mv === undefined ? "-" : mv.toFixed(1)).padStart(8)} | ${p.cycles.toFixed(1).padStart(6)} | ${diff.padStart(17)} | ${(p.l1 * 100).toFixed(1).padStart(10)}% | ${p.walks.toFixed(3).padStart(12)} | ${p.ept.toFixed(2).padStart(15)} |`);
  }
  // The STLB knee and the STLB-hit penalty mean something where the STLB holds every page (consecutive pages).
  const show = (c) => `knees ${knees(c).join(", ") || "none"}` + (layout === "line" ? "" : `; L1 DTLB knee ${l1Knee(c) ?? "-"}`) +
    (layout.startsWith("4k") ? `, STLB knee ${stlbKnee(c) ?? "-"}, STLB-hit penalty ${num(stlbPenalty(c))}` : "") +
    (WALK_WINDOWS[layout] ? `, walk plateau (median over N ${WALK_WINDOWS[layout].join("–")}) ${num(walkPlateau(layout, c))}` : "");
  console.log(`  wasmmu:   ${show(model[layout])}`);
  if (mraw) console.log(`  measured: ${show(meas[layout])}`);
}

const rows = targets(meas, model);
if (rows.length > 0) {
  console.log("\nissue 16 targets (core cycles)");
  console.log("| target | measured | wasmmu | difference | result |");
  console.log("|---|---:|---:|---:|---|");
  for (const t of rows) console.log(`| ${t.target} | ${num(t.measured)} | ${num(t.model)} | ${pct(t.diff)} | ${t.pass ? "PASS" : "MISS"} |`);
}
