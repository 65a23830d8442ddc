/**
 * The cache hierarchy's lookup (assembly/mmu/cache.ts) gives the same answers, reference for
 * reference, as the first implementation did (commit 85a1094: u64 tags, per-level descriptors,
 * out-of-line insert/touch): each expectation below is a digest recorded from that build on the
 * same seeded stream. A faster lookup must change none of them — where each line was found (a
 * digest of the whole sequence), the replacement order it implies under LRU and tree PLRU, the
 * LLC's inclusion policies, a set count that is not a power of two (golden-cove's 105 MiB 15-way
 * LLC, hashed), and the counters a replay accumulates (page_walker_loads.*, mem_load_retired.*,
 * mem_store.*, walk_ad_ref, *.walk_active and walk_pending, cycles).
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer, DemandMapper, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { custom } from "../../src/machine/presets/custom.js";
import type { CacheHierarchyConfig, CacheInclusion, CachePolicy, CpuPreset } from "../../src/machine/presets/types.js";

/** xorshift32, as the benches use. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

/** FNV-1a over a sequence of small numbers. */
function digest(xs: Iterable<number>): string {
  let h = 0x811c9dc5;
  for (const x of xs) { h ^= x & 0xff; h = Math.imul(h, 0x01000193) >>> 0; }
  return h.toString(16).padStart(8, "0");
}

const WHERE = { l1d: 1, l2: 2, llc: 3, memory: 4 } as const;

/** Small levels (so a short stream reaches every one), in the shape of the real presets. */
function small(l1Policy: CachePolicy, inclusion: CacheInclusion, llcKiB: number, llcWays: number, llcPolicy?: CachePolicy): CacheHierarchyConfig {
  return {
    l1d: { sizeKiB: 4, ways: 8, latency: 4, policy: l1Policy },
    l2: { sizeKiB: 16, ways: 4, latency: 12, policy: "lru" },
    llc: { sizeKiB: llcKiB, ways: llcWays, latency: 40, policy: llcPolicy ?? (llcWays === 16 ? "plru" : "lru"), inclusion },
    memoryLatency: 200,
    mode: "walks",
  };
}

/**
 * 40,000 host loads on two CPUs: 60 % within 48 KiB (L1D and L2 hits), the rest over 1 MiB.
 * @returns the digest of where each was found and how many were found at each level
 */
async function stream(caches: CacheHierarchyConfig): Promise<{ digest: string; counts: number[] }> {
  const m = await Machine.create({ ram: "16MiB", build: "debug", cpus: 2, cpu: { ...custom, name: "custom-caches", caches } as CpuPreset });
  const next = rng(0x2545f491);
  const seq: number[] = [];
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 40000; i++) {
    const r = next();
    const pa = 0x40_0000n + BigInt(r % 10 < 6 ? next() % (48 << 10) : next() % (1 << 20));
    const w = WHERE[m.caches.access((r >>> 8) & 1, pa) as keyof typeof WHERE];
    seq.push(w);
    counts[w - 1]++;
  }
  return { digest: digest(seq), counts };
}

describe("cache lookup: the same answers as the first implementation (cache.ts)", () => {
  it("LRU L1D, NINE LLC of 64 sets × 8 (power of two)", async () => {
    expect(await stream(small("lru", "nine", 32, 8))).toEqual({ digest: "2f65b91b", counts: [1310, 3781, 4712, 30197] });
  });
  it("tree-PLRU L1D, inclusive tree-PLRU LLC of 32 sets × 16", async () => {
    expect(await stream(small("plru", "inclusive", 32, 16))).toEqual({ digest: "dcaece26", counts: [1309, 3145, 4862, 30684] });
  });
  it("exclusive LLC of 48 sets × 12 (not a power of two: hashed set index)", async () => {
    expect(await stream(small("lru", "exclusive", 36, 12))).toEqual({ digest: "cb976350", counts: [1310, 3781, 7799, 27110] });
  });
  // More than 16 ways: the tag search's loop beyond its first sixteen compares.
  it("LRU LLC of 64 sets × 20", async () => {
    expect(await stream(small("lru", "nine", 80, 20))).toEqual({ digest: "c4dbb1a7", counts: [1310, 3781, 14150, 20759] });
  });
  it("tree-PLRU L1D, exclusive LLC of 48 sets × 24 (hashed)", async () => {
    expect(await stream(small("plru", "exclusive", 72, 24))).toEqual({ digest: "0ef91ab7", counts: [1316, 3778, 12798, 22108] });
  });
  it("inclusive tree-PLRU LLC of 64 sets × 32", async () => {
    expect(await stream(small("lru", "inclusive", 128, 32, "plru"))).toEqual({ digest: "5189e2da", counts: [1310, 3782, 18279, 16629] });
  });
});

const KEYS = [
  "page_walker_loads.dtlb_l1", "page_walker_loads.dtlb_l2", "page_walker_loads.dtlb_l3", "page_walker_loads.dtlb_memory",
  "walk_ad_ref", "walk_mem_ref", "dtlb_load_misses.walk_active", "dtlb_load_misses.walk_pending",
  "dtlb_store_misses.walk_active", "dtlb_store_misses.walk_pending",
  "mem_load_retired.l1_hit", "mem_load_retired.l2_hit", "mem_load_retired.l3_hit", "mem_load_retired.l3_miss",
  "mem_store.l1_hit", "mem_store.memory", "cycles", "cycles_translation",
];

/**
 * Replay 30,000 loads and stores (70 % over 200 hot pages, the rest over 40,000 pages, demand
 * mapped) on a real preset in mode `mode`. @returns the counters KEYS, as strings
 */
async function replayed(cpu: string, mode: "walks" | "all"): Promise<Record<string, string>> {
  const m = await Machine.create({ ram: "256MiB", cpu, caches: mode });
  const dm = new DemandMapper(m);
  const r = new Replayer(m, dm.policy);
  const next = rng(0x9e3779b9);
  const n = 30000;
  for (let i = 0; i < n; i++) {
    const x = next();
    const page = x % 10 < 7 ? next() % 200 : 200 + (next() % 40000);
    const kind = (x >>> 8) % 4 === 0 ? REC_KIND.write : REC_KIND.read;
    r.batch.setAddress(i, 0x7f00_0000_0000n + BigInt(page) * 4096n + BigInt(next() & 0xfc0), 8, kind | REC_USER, 0);
  }
  expect(r.run(n).completed).toBe(n);
  const c = m.counters(0);
  return Object.fromEntries(KEYS.map((k) => [k, String(c[k])]));
}

interface Expected {
  l1: number; l2: number; l3: number; memory: number; ad: number; refs: number; loadActive: number; storeActive: number;
  loads: number[]; stores: number[]; cycles: number; translation: number;
}
/** The counters KEYS from the figures recorded (walk_pending equals walk_active: one walk at a time). */
function expected(e: Expected): Record<string, string> {
  const v = [e.l1, e.l2, e.l3, e.memory, e.ad, e.refs, e.loadActive, e.loadActive, e.storeActive, e.storeActive, ...e.loads, ...e.stores, e.cycles, e.translation];
  return Object.fromEntries(KEYS.map((k, i) => [k, String(v[i])]));
}

describe("cache lookup: a replay's counters are the first implementation's (walk.ts, loop.ts)", () => {
  it("skylake (tree-PLRU L1D, inclusive LLC), mode walks", async () => {
    expect(await replayed("skylake", "walks")).toEqual(expected({
      l1: 38710, l2: 3161, l3: 627, memory: 4211, ad: 8569, refs: 46709, loadActive: 1095600, storeActive: 381516,
      loads: [0, 0, 0, 0], stores: [0, 0], cycles: 7728243, translation: 7575587 }));
  });
  it("golden-cove (LRU, NINE, hashed 112,000-set LLC), mode all", async () => {
    expect(await replayed("golden-cove", "all")).toEqual(expected({
      l1: 38179, l2: 4185, l3: 5, memory: 4211, ad: 8569, refs: 46580, loadActive: 1613138, storeActive: 560241,
      loads: [512, 7587, 5, 14401], stores: [157, 4804], cycles: 16078994, translation: 8189941 }));
  });
  it("zen4 (exclusive LLC), mode all", async () => {
    expect(await replayed("zen4", "all")).toEqual(expected({
      l1: 33062, l2: 3627, l3: 574, memory: 4211, ad: 8569, refs: 41474, loadActive: 1415034, storeActive: 492212,
      loads: [348, 6763, 993, 14401], stores: [105, 4804], cycles: 14884249, translation: 7934931 }));
  });
});
