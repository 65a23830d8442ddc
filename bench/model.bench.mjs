// The TLB-model suite (issue #17): five seeded traces with writes, faults and 2 MiB pages,
// replayed by the Wasm core and by two independent native implementations of the same model —
// bench/native/plain.c (what a researcher would write) and bench/native/tuned.c (SIMD tags,
// branch-free victim) — interleaved, medians of several rounds, counters checked equal.
//
// Model (every side): L1 DTLB 64 entries 4-way and a second-level TLB 1536 entries 12-way, both
// holding 4 KiB entries only and true LRU; 4-level paging; no paging-structure caches. Page-table
// entries start with A and D clear, so the first walk through an entry sets A and the first store
// to a page walks again to set D (the dirty-bit assist, SDM §4.8). 2 MiB pages are filled as
// splintered 4 KiB entries (SDM §4.10.2.3 lets a TLB cache a smaller piece of a larger page).
//
// Traces: 2^25 accesses of 8 bytes (--quick: 2^22), xorshift32 with seed 0x2545f491; per access
// one draw decides the kind (draw % 10 < 3: a write, so about 30 %), then the address draws.
//   a  hot       32 hot pages; 10 % excursions to pages 32..999,999 (≈ 4 GiB). 1 in 25 excursion
//                pages (a hash of the page number) is unmapped: its access faults and the policy
//                counts and skips it (≈ 0.4 % of accesses).
//   b  rand1k    1,000 random pages (second-level hits).
//   c  rand1m    1,000,000 random pages over 4 GiB (walks).
//   d  seq       a sequential 1 GiB stream at 32-byte steps.
//   e  huge16g   random accesses over 16 GiB mapped with 2 MiB pages (each walk: 3 levels, a
//                splintered 4 KiB fill).
// Every page is mapped before the timed pass (demand mapping: see benchDemand). Each round builds
// a fresh machine (tables with A/D clear, empty TLBs) and times one pass; records are generated
// into the batch buffer a chunk at a time, untimed.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as wasmmu from "../dist/index.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const MODEL_TRACES = ["hot", "rand1k", "rand1m", "seq", "huge16g"];
const CHUNK = 1 << 20;
const BASE = 0x1_0000_0000;
const SEED = 0x2545f491;

/** Excursion page `p` of trace "hot" is left unmapped (1 in 25, by a multiplicative hash). */
export function hotHole(p) {
  return ((Math.imul(p, 0x9e3779b1) >>> 20) % 25) === 0;
}

/** The trace's generator: each call returns [va as a number, write]. Identical in plain.c and tuned.c. */
export function modelGenerator(trace) {
  let seed = SEED;
  const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  let i = 0;
  const page = {
    hot: () => { const r = rnd(); return r % 10 === 0 ? 32 + (rnd() % 999968) : rnd() % 32; },
    rand1k: () => rnd() % 1000,
    rand1m: () => Math.floor(((rnd() % 1000000) * 1048576) / 1000000),
    huge16g: () => rnd() % (1 << 22),
  }[trace];
  if (trace === "seq") return () => { const w = rnd() % 10 < 3; const va = BASE + 32 * (i++ % (1 << 25)); return [va, w]; };
  return () => { const w = rnd() % 10 < 3; const p = page(); return [BASE + p * 4096 + (rnd() & 0xff8), w]; };
}

/** Map every page the trace touches (but the holes of "hot"), leaves and tables with A and D clear. */
function premap(m, root, trace, ptMap) {
  const levels = m.config.paging;
  // The model never touches data: every leaf points into one 2 MiB block of frames.
  const block = m.frames.alloc(9);
  if (block === null) throw new Error("no 2 MiB block for the data frames");
  const leaf4k = (p) => BigInt((block + (p & 511)) * 4096 + 7);
  const map4k = (p) => { if (ptMap(root, levels, BigInt(BASE + p * 4096), 1, leaf4k(p), 7n) !== 0) throw new Error("ptMap failed"); };
  if (trace === "hot") { for (let p = 0; p < 1000000; p++) if (p < 32 || !hotHole(p)) map4k(p); }
  else if (trace === "rand1k") { for (let p = 0; p < 1000; p++) map4k(p); }
  else if (trace === "rand1m") { for (let j = 0; j < 1000000; j++) map4k(Math.floor((j * 1048576) / 1000000)); }
  else if (trace === "seq") { for (let p = 0; p < 262144; p++) map4k(p); }
  else {
    const leaf = BigInt(block * 4096 + 0x87);
    for (let h = 0; h < 8192; h++) if (ptMap(root, levels, BigInt(BASE + h * 0x20_0000), 2, leaf, 7n) !== 0) throw new Error("ptMap failed");
  }
}

/** Counter names compared across the three sides. */
export const MODEL_COUNTERS = ["accesses", "l1_hit", "stlb_hit", "walks", "faults", "dirty_assists"];

/**
 * Replay `n` accesses of `trace` once on a fresh machine, timed.
 * @param opts.corePolicy resolve the faults of "hot" in the core (count-and-skip) instead of returning to JS
 * @param opts.demand map nothing ahead: the core's demand-map policy maps each page on first touch
 */
export async function wasmModelReplay(trace, n, lib = wasmmu, opts = {}) {
  const { Machine, Replayer, DemandMapper, REC_KIND, REC_USER } = lib;
  const m = await Machine.create({ ram: opts.demand ? "4000MiB" : "512MiB", cpu: "custom", overrides: { "stlb[0].sizes": "4K" }, traceBatch: CHUNK });
  const dm = new DemandMapper(m);
  if (!opts.demand) premap(m, dm.root, trace, m._core.exports.ptMap);
  const skip = Object.assign(() => "skip", { notPresent: () => "skip" });
  let policy = opts.demand ? dm.policy : skip;
  if (!opts.demand && opts.corePolicy !== false && lib.countAndSkip !== undefined) policy = lib.countAndSkip;
  if (opts.demand && opts.corePolicy === false) policy = Object.assign((f) => dm.policy(f), { notPresent: dm.policy.notPresent });
  const r = new Replayer(m, policy);
  const rk = REC_KIND.read | REC_USER, wk = REC_KIND.write | REC_USER;
  const next = modelGenerator(trace);
  const before = m.counters(0);
  let ns = 0;
  let wallNs = 0;
  let faults = 0;
  for (let done = 0; done < n; done += CHUNK) {
    const count = Math.min(CHUNK, n - done);
    for (let i = 0; i < count; i++) { const [va, w] = next(); r.batch.set(i, va >>> 0, Math.floor(va / 4294967296), 8, w ? wk : rk, 0); }
    // CPU time of the process (the replay runs on this thread alone): on a shared machine, wall
    // time also counts the time other processes held the core.
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const res = r.run(count);
    wallNs += Number(process.hrtime.bigint() - t0);
    const c1 = process.cpuUsage(c0);
    ns += (c1.user + c1.system) * 1000;
    if (res.stopped) throw new Error(`replay stopped: ${res.stopped.reason}`);
    faults += res.faults;
  }
  const after = m.counters(0);
  const d = (k) => Number(after[k] - before[k]);
  return {
    trace, ns, wallNs, resolved: faults, records: n,
    accesses: d("access_load") + d("access_store"), l1_hit: d("tlb_l1d_hit"),
    stlb_hit: d("dtlb_load_misses.stlb_hit") + d("dtlb_store_misses.stlb_hit"),
    walks: d("walk_started"), faults: d("fault_pf"), dirty_assists: d("tlb_dirty_rewalk"),
  };
}

/** Build plain.c and tuned.c with gcc -O2 -march=native; null (with a message) without gcc. */
export function buildModelNative() {
  if (spawnSync("sh", ["-c", "command -v gcc"]).status !== 0) { console.log("  (gcc not found: the native comparison is skipped)"); return null; }
  const out = {};
  for (const name of ["plain", "tuned"]) {
    const bin = join(HERE, "native", name);
    execFileSync("gcc", ["-O2", "-march=native", "-o", bin, join(HERE, "native", `${name}.c`)]);
    if (!existsSync(bin)) return null;
    out[name] = bin;
  }
  return out;
}

/** Run one native side: one JSON line with the counters and the replay time. */
export function nativeModelReplay(bin, trace, n) {
  return JSON.parse(execFileSync(bin, [trace, String(n)], { encoding: "utf8" }));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The suite as `npm run bench` prints it: every trace on the Wasm replay, plain C and tuned C,
 * interleaved per round, medians; counters must be identical across the three (a mismatch is
 * printed and marked). Also trace "hot" demand-mapped against pre-mapped (Wasm only).
 * @returns the table rows, for callers that want the numbers
 */
export async function runModelSuite({ accesses = 1 << 25, rounds = 5, traces = MODEL_TRACES, lib = wasmmu } = {}) {
  const os = await import("node:os");
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`\nTLB-model suite (issue #17): ${accesses} accesses per trace, ${rounds} interleaved rounds, medians; load before ${load()}`);
  const native = buildModelNative();
  for (const t of traces) await wasmModelReplay(t, 1 << 20, lib);   // warm-up: let V8 tier up
  const got = Object.fromEntries(traces.map((t) => [t, { wasm: [], plain: [], tuned: [], counters: null, match: true }]));
  const demand = { pre: [], demand: [] };
  for (let round = 0; round < rounds; round++) {
    for (const t of traces) {
      const w = await wasmModelReplay(t, accesses, lib);
      const g = got[t];
      g.wasm.push((w.records / w.ns) * 1000);
      g.counters = w;
      if (native) {
        for (const side of ["plain", "tuned"]) {
          const c = nativeModelReplay(native[side], t, accesses);
          g[side].push((c.accesses / c.ns) * 1000);
          for (const k of MODEL_COUNTERS) {
            if (c[k] !== w[k]) { g.match = false; console.log(`  ${t}: ${k} differs: wasm ${w[k]}, ${side} ${c[k]}`); }
          }
        }
      }
      if (t === "hot") {
        demand.pre.push((w.records / w.ns) * 1000);
        // Rates per trace record: a demand-mapped record that faulted is translated twice.
        const d = await wasmModelReplay(t, accesses, lib, { demand: true });
        demand.demand.push((d.records / d.ns) * 1000);
      }
    }
  }
  const f = (x) => (x === undefined || Number.isNaN(x) ? "—" : x.toFixed(1));
  console.log("  | trace | Wasm M acc/s | plain C M acc/s | tuned C M acc/s | Wasm / plain | Wasm / tuned | L1 hits | STLB hits | walks | faults | dirty assists | counters identical |");
  console.log("  |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  const rows = [];
  for (const t of traces) {
    const g = got[t];
    const w = median(g.wasm), p = native ? median(g.plain) : NaN, tu = native ? median(g.tuned) : NaN;
    const c = g.counters;
    rows.push({ trace: t, wasm: w, plain: p, tuned: tu, counters: c, match: g.match });
    console.log(`  | ${t} | ${f(w)} | ${f(p)} | ${f(tu)} | ${native ? (w / p).toFixed(2) : "—"} | ${native ? (w / tu).toFixed(2) : "—"} | ${c.l1_hit} | ${c.stlb_hit} | ${c.walks} | ${c.faults} | ${c.dirty_assists} | ${native ? (g.match ? "yes" : "NO") : "—"} |`);
  }
  if (demand.pre.length) {
    const a = median(demand.pre), b = median(demand.demand);
    console.log(`  hot demand-mapped (every page mapped on first touch, timed) ${b.toFixed(1)} M acc/s vs pre-mapped ${a.toFixed(1)}: ${(b / a).toFixed(3)}`);
  }
  console.log(`  load after ${load()}`);
  return rows;
}
