// Replay throughput (issue #4): generated, seeded traces of 2^25 accesses, replayed by the Wasm
// core's batch loop with the input already in linear memory, side by side with the native C build
// of the identical model (bench/native/replay.c), interleaved in the same run.
//
// Configuration (both sides): L1 DTLB 64 entries 4-way, second-level TLB 1536 entries 12-way
// holding 4 KiB pages, both true LRU; 4-level paging; no paging-structure caches; pages
// demand-mapped on first touch. Each trace is replayed twice: the first pass maps the pages,
// the second is timed (trace generation is not timed: records are generated into the batch
// buffer a chunk at a time, then replayed).
//
// Traces (xorshift32, seed 0x2545f491, identical in C):
//   hot       32 hot pages, 10 % excursions to random pages among the next 999,968 (≈ 4 GiB)
//   random1k  1,000 random pages (second-level TLB hits)
//   random1m  1,000,000 random pages spread over 4 GiB (walks)
//   seq       a sequential 1 GiB stream at 32-byte steps
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as wasmmu from "../dist/index.js";
const { Machine, DemandMapper } = wasmmu;

const HERE = dirname(fileURLToPath(import.meta.url));
export const TRACES = ["hot", "random1k", "random1m", "seq"];
const CHUNK = 1 << 20;
const BASE = 0x1_0000_0000;

function generator(trace) {
  let seed = 0x2545f491;
  const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
  if (trace === "hot") return () => { const r = rnd(); const page = r % 10 === 0 ? 32 + (rnd() % 999968) : rnd() % 32; return BASE + page * 4096 + (rnd() & 0xff8); };
  if (trace === "random1k") return () => BASE + (rnd() % 1000) * 4096 + (rnd() & 0xff8);
  // 1,000,000 pages spread over 4 GiB: page p sits at 4 KiB page floor(p × 2^20 / 10^6).
  if (trace === "random1m") return () => BASE + Math.floor(((rnd() % 1000000) * 1048576) / 1000000) * 4096 + (rnd() & 0xff8);
  let i = 0;
  return () => BASE + 32 * i++;
}

/** The cache hierarchy of preset `name` (a clear error when it has none). */
function cachesOf(presets, name) {
  const caches = presets[name]?.caches;
  if (!caches) throw new Error(`no preset ${name} with a cache hierarchy (have ${Object.keys(presets).filter((k) => presets[k].caches).join(", ")})`);
  return caches;
}

/**
 * Replay `n` accesses of `trace` twice on a fresh machine; time the second pass.
 * @param lib the wasmmu module to measure (default ../dist/index.js; replay-ab.mjs passes two builds)
 * @param opts.stamps replay with the core's access stamps on (the stamping loop: every record on
 *   the reference path, a stamp per translated page), as exact LRU page replacement runs it
 * @param opts.caches "walks" or "all": the same TLBs with the skylake preset's cache hierarchy
 *   (mmu/cache.ts) in that mode; absent: the custom preset as always (no hierarchy)
 * @param opts.cachesCpu the preset whose hierarchy opts.caches takes (default "skylake")
 */
export async function wasmReplay(trace, n, lib = wasmmu, opts = {}) {
  const { Machine, Replayer, DemandMapper, REC_KIND, REC_USER, PRESETS } = lib;
  const cpu = opts.caches ? { ...PRESETS.custom, name: "custom-caches", caches: { ...cachesOf(PRESETS, opts.cachesCpu ?? "skylake"), mode: opts.caches } } : "custom";
  const createC0 = process.cpuUsage();
  const createT0 = process.hrtime.bigint();
  const m = await Machine.create({
    // Full mode: 1,000,000 data frames and their tables fit in 4,000 MiB of RAM.
    ram: "4000MiB", cpu,
    overrides: { "stlb[0].sizes": "4K" }, traceBatch: CHUNK, ...(opts.stamps ? { accessStamps: true } : {}),
  });
  // The machine's creation (4000 MiB reserved, frame descriptors written): e2e.bench.mjs adds it to
  // the in-memory reference, so that both sides of its ratio start from nothing.
  const createNs = Number(process.hrtime.bigint() - createT0);
  const cc = process.cpuUsage(createC0);
  const createCpuNs = (cc.user + cc.system) * 1000;
  if (opts.stamps) m.stamps.enable();
  const dm = new DemandMapper(m);
  const r = new Replayer(m, dm.policy);
  const kind = REC_KIND.read | REC_USER;
  let ns = 0;
  let cpuNs = 0;   // the timed pass's CPU time (on a loaded machine, wall time counts other processes' turns)
  let firstPassNs = 0;
  let firstPassCpuNs = 0;   // the first (cold, demand-paging) pass's CPU time: e2e.bench.mjs's reference on a loaded machine
  let before;
  for (let pass = 0; pass < 2; pass++) {
    if (pass === 1) { firstPassNs = ns; firstPassCpuNs = cpuNs; }
    const next = generator(trace);
    before = m.counters(0);
    ns = 0;
    cpuNs = 0;
    for (let done = 0; done < n; done += CHUNK) {
      const count = Math.min(CHUNK, n - done);
      for (let i = 0; i < count; i++) { const va = next(); r.batch.set(i, va >>> 0, Math.floor(va / 4294967296), 8, kind, 0); }
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const res = r.run(count);
      ns += Number(process.hrtime.bigint() - t0);
      const c1 = process.cpuUsage(c0);
      cpuNs += (c1.user + c1.system) * 1000;
      if (res.stopped) throw new Error(`replay stopped: ${JSON.stringify(res.stopped, (_, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
    }
  }
  const after = m.counters(0);
  const d = (k) => Number(after[k] - before[k]);
  return {
    trace, accesses: d("access_load"), ns, cpuNs, firstPassNs, firstPassCpuNs, createNs, createCpuNs, l1_hit: d("tlb_l1d_hit"), stlb_hit: d("dtlb_load_misses.stlb_hit"),
    walks: d("dtlb_load_misses.miss_causes_a_walk"), walks_done: d("dtlb_load_misses.walk_completed"),
    walk_mem_ref: d("walk_mem_ref"), faults: d("fault_pf"),
  };
}

/** Build the native model if a C compiler is present; null (with a message) otherwise. */
export function buildNative() {
  const cc = ["gcc", "cc", "clang"].find((c) => spawnSync("sh", ["-c", `command -v ${c}`]).status === 0);
  if (!cc) { console.log("  (no C compiler found: the native comparison is skipped)"); return null; }
  const out = join(HERE, "native", "replay");
  mkdirSync(dirname(out), { recursive: true });
  execFileSync(cc, ["-O2", "-o", out, join(HERE, "native", "replay.c")]);
  return existsSync(out) ? out : null;
}

/** Run the native model; `lookahead`: with the Wasm loop's touchAhead rule added (replay.c's header). */
export function nativeReplay(bin, trace, n, lookahead = false) {
  return JSON.parse(execFileSync(bin, [trace, String(n), ...(lookahead ? ["lookahead"] : [])], { encoding: "utf8" }));
}

/** Per-access JS path: Cpu.access() once per access (validation, one core call, a result object). */
export async function perAccessJs(n) {
  const m = await Machine.create({ ram: "64MiB", cpu: "custom", overrides: { "stlb[0].sizes": "4K" } });
  const dm = new DemandMapper(m);
  const cpu = m.cpu(0);
  const next = generator("random1k");
  const vas = Array.from({ length: n }, () => BigInt(next()));
  for (const va of vas.slice(0, 5000)) { const t = cpu.access(va, { cpl: 3 }); if (!t.ok) { dm.map(va); cpu.access(va, { cpl: 3 }); } }
  for (let i = 0; i < 1000; i++) dm.map(BigInt(BASE + i * 4096));
  const t0 = process.hrtime.bigint();
  for (const va of vas) cpu.access(va, { cpl: 3 });
  return { accesses: n, ns: Number(process.hrtime.bigint() - t0) };
}
