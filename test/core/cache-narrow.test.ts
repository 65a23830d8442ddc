/**
 * u16 tags and the replay's look-ahead into the cache hierarchy (assembly/mmu/cache.ts):
 * which levels keep u16 tags (narrowFor: a power-of-two set count and RAM whose highest line's
 * bits above the set index, + 1, fit 16 bits; or a hashed, non-inclusive LLC of ≥ 65,538 sets,
 * keyed by cacheset.ts hashKey), that such a tag stays exact (lines of one set at both ends of RAM
 * are told apart, a reference beyond RAM is not cached, a hashed LLC's keys answer as its u32
 * tags do and no two lines of RAM share a hash), and that
 * cacheTouchAhead (called by replay/loop.ts touchAhead) changes no counter: a batch replayed in
 * one call, with the look-ahead reading 32 records ahead, counts exactly what the same records
 * replayed one call each (nothing ahead to read) count. The answers themselves, u16 tags or not,
 * are pinned by test/core/cache-equiv.test.ts (its levels of 64 sets on 16 MiB take u16 tags).
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer, DemandMapper, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { custom } from "../../src/machine/presets/custom.js";
import type { CacheHierarchyConfig, CpuPreset } from "../../src/machine/presets/types.js";

/** L1D 4 KiB 8-way (8 sets), L2 of `l2Sets` sets × 4, LLC of `llcSets` sets × 16 (LRU, NINE unless told). */
function levels(l2Sets: number, llcSets: number, inclusion: "nine" | "inclusive" | "exclusive" = "nine"): CacheHierarchyConfig {
  return {
    l1d: { sizeKiB: 4, ways: 8, latency: 4, policy: "lru" },
    l2: { sizeKiB: (l2Sets * 4 * 64) / 1024, ways: 4, latency: 12, policy: "lru" },
    llc: { sizeKiB: (llcSets * 16 * 64) / 1024, ways: 16, latency: 40, policy: "lru", inclusion },
    memoryLatency: 200,
    mode: "walks",
  };
}

async function machine(caches: CacheHierarchyConfig, ram: string): Promise<Machine> {
  return Machine.create({ ram, build: "debug", cpu: { ...custom, name: "custom-caches", caches } as CpuPreset });
}

const tagBytes = (m: Machine) => [1, 2, 3].map((l) => m._core.exports.cacheTagBytes(l));

describe("u16 tags: which levels take them (cache.ts narrowFor, cacheTagBytes)", () => {
  it("256 MiB of RAM (2^22 lines): 64 sets leave 2^16 + 1 (u32 tags), 128 sets 2^15 + 1 (u16); never the L1D", async () => {
    // L2 of 64 sets: (2^22 >> 6) + 1 = 65,537 > 65,535. LLC of 128 sets: (2^22 >> 7) + 1 = 32,769.
    expect(tagBytes(await machine(levels(64, 128), "256MiB"))).toEqual([4, 4, 2]);
    expect(tagBytes(await machine(levels(128, 64), "256MiB"))).toEqual([4, 2, 4]);
    // 16 MiB: every level of 64 sets or more fits, the L1D still keeps u32 tags.
    expect(tagBytes(await machine(levels(64, 64), "16MiB"))).toEqual([4, 2, 2]);
  });

  it("a hashed LLC (sets not a power of two) takes u16 keys only from 65,538 sets, and never when inclusive; no hierarchy: 0", async () => {
    expect(tagBytes(await machine(levels(64, 96), "16MiB"))).toEqual([4, 2, 4]);
    // cacheset.ts hashKey: a set holds at most ceil(2^32 / sets) hashes, which must be ≤ 65,535.
    const hashed = (sets: number, ways: number, inclusion: "nine" | "inclusive" | "exclusive") => machine({
      ...levels(64, 64), llc: { sizeKiB: (sets * ways * 64) / 1024, ways, latency: 40, policy: "lru", inclusion } }, "16MiB");
    expect(tagBytes(await hashed(65535, 16, "nine"))[2]).toBe(4);       // 2^32 / 65,535 = 65,537 hashes in a set
    expect(tagBytes(await hashed(65538, 8, "nine"))[2]).toBe(2);        // ceil(2^32 / 65,538) = 65,535
    expect(tagBytes(await hashed(65538, 8, "exclusive"))[2]).toBe(2);
    expect(tagBytes(await hashed(65538, 8, "inclusive"))[2]).toBe(4);   // back-invalidation needs the victim's line
    expect(tagBytes(await Machine.create({ ram: "16MiB", cpu: "custom" }))).toEqual([0, 0, 0]);
  });

  it("the presets on the benchmarks' 4000 MiB: every L2 and LLC takes u16 tags, golden-cove's hashed LLC hashKey's", async () => {
    const of = async (cpu: string) => tagBytes(await Machine.create({ ram: "4000MiB", cpu, caches: "walks" }));
    expect(await of("zen4")).toEqual([4, 2, 2]);        // L2 2048 sets, LLC 32,768: (64,000,000 >> 15) + 1 = 1,954
    expect(await of("skylake")).toEqual([4, 2, 2]);     // L2 1024 sets: (64,000,000 >> 10) + 1 = 62,501
    expect(await of("golden-cove")).toEqual([4, 2, 2]); // LLC 114,688 sets (hashed, NINE): 37,450 hashes a set
  });

  it("u16 tags halve a 16-way LLC's records: 16,384 sets take 1 MiB (64-byte records), 16,383 (hashed, u32) 2 MiB", async () => {
    const narrow = await machine(levels(64, 16384), "64MiB");   // (2^20 >> 14) + 1 = 65: u16
    const wide = await machine(levels(64, 16383), "64MiB");
    expect([tagBytes(narrow)[2], tagBytes(wide)[2]]).toEqual([2, 4]);
    const more = wide.memoryBytes - narrow.memoryBytes;   // 16,383 × 128 − 16,384 × 64 bytes, give or take a 64 KiB page
    expect(Math.abs(more - (16383 * 128 - 16384 * 64))).toBeLessThanOrEqual(64 * 1024);
  });
});

describe("u16 tags stay exact (cache.ts cacheBelowL1)", () => {
  // 16 MiB of RAM (lines + 1 up to 2^18), 64-set L2 and LLC: the lines of one set are 4 KiB apart.
  const last = 16n * 1024n * 1024n - 64n;

  it("the first and the last line of RAM in one u16-tagged set are two lines, each found where it was put", async () => {
    const m = await machine(levels(64, 64), "16MiB");
    expect(tagBytes(m)).toEqual([4, 2, 2]);
    const first = last & 0xfffn;   // line + 1 = 64 and 2^18: set 0 of every level, u16 keys 2 and 4,097
    expect(m.caches.access(0, first)).toBe("memory");
    expect(m.caches.access(0, last)).toBe("memory");
    expect([m.caches.holds(0, "llc", first), m.caches.holds(0, "llc", last), m.caches.holds(0, "l2", first), m.caches.holds(0, "l2", last)])
      .toEqual([true, true, true, true]);
    expect(m.caches.access(0, first)).toBe("l1d");
    expect(m.caches.access(0, last)).toBe("l1d");
  });

  it("a reference beyond RAM goes to memory and fills nothing, so it cannot alias a line of RAM", async () => {
    const m = await machine(levels(64, 64), "16MiB");
    const beyond = last + 64n + (last & 0xfffn);   // 16 MiB + 0xfc0: set 0 again, above the last line of RAM
    expect(m.caches.access(0, beyond)).toBe("memory");
    expect(m.caches.access(0, beyond)).toBe("memory");
    expect(["l1d", "l2", "llc"].map((l) => m.caches.holds(0, l as "l1d", beyond))).toEqual([false, false, false]);
  });

  it("an exclusive LLC under a u16 L2: the L2 victim's line is rebuilt from its key and set and moves down (LRU)", async () => {
    const m = await machine(levels(64, 64, "exclusive"), "16MiB");
    // Nine lines of one set in every level (4 KiB apart): the 8-way L1D keeps the last eight, the
    // 4-way L2 the last four, and L2's victims a(0)…a(4) went down to the LLC (memory fills skip it).
    const a = (i: number) => 0x10_0000n + BigInt(i) * 4096n;
    for (let i = 0; i < 9; i++) expect(m.caches.access(0, a(i))).toBe("memory");
    expect([0, 4, 5].map((i) => [m.caches.holds(0, "l2", a(i)), m.caches.holds(0, "llc", a(i))])).toEqual([[false, true], [false, true], [true, false]]);
    // a(0) hits the LLC and moves up to L2; L2's least recent, a(5), goes down in its place.
    expect(m.caches.access(0, a(0))).toBe("llc");
    expect([0, 5].map((i) => [m.caches.holds(0, "l2", a(i)), m.caches.holds(0, "llc", a(i))])).toEqual([[true, false], [false, true]]);
  });
});

describe("u16 keys of a hashed LLC stay exact (cacheset.ts hashKey, HASH_DISTINCT_BELOW)", () => {
  const C = 0x9e3779b97f4a7c15n, M = 1n << 64n;
  const hashOf = (line: bigint) => BigInt.asUintN(64, line * C) >> 32n;

  it("lines closer than 2,971,215,073 have distinct hashes, and that distance does not", () => {
    // Two lines have one hash only if their distance d puts d × C within 2^32 of a multiple of
    // 2^64. The smallest such d is a best approximation of C / 2^64 (every smaller d is farther
    // from a multiple), and best approximations are denominators of its continued fraction's
    // convergents (Lagrange): walk them to the first within 2^32.
    let [num, den] = [C, M];
    let [q0, q1] = [0n, 1n];
    let first = 0n;
    for (let k = 0; k < 64 && first === 0n; k++) {
      const a = den / num;   // C / 2^64 < 1: the expansion [0; a1, a2, …] starts from its reciprocal
      [den, num] = [num, den - a * num];
      [q0, q1] = [q1, a * q1 + q0];
      const r = (q1 * C) % M;
      if (r < 1n << 32n || M - r < 1n << 32n) first = q1;
    }
    expect(first).toBe(2971215073n);
    expect(hashOf(1n)).toBe(hashOf(1n + first));   // and it is a collision
  });

  /** lineHash of a line below 2^31 in doubles (exact: every partial product is below 2^53). */
  const hash32 = (line: number) => {
    const cLo = 0x7f4a7c15, cHi = 0x9e3779b9;
    const [a1, a0, b1, b0] = [Math.floor(line / 65536), line % 65536, cLo >>> 16, cLo & 0xffff];
    const hiLo = a1 * b1 + Math.floor(((a1 * b0 + a0 * b1) * 65536 + a0 * b0) / 2 ** 32);
    return (hiLo + (Math.imul(line, cHi) >>> 0)) % 2 ** 32;
  };

  /**
   * 600 lines below 2^31 (128 GiB) in the first 12 of 65,600 hashed LLC sets, 50 a set: each
   * set's hashes spread over its whole range of 37,450, so that a key with fewer distinct values
   * than that range (a smaller modulus, the hash's low bits) makes two of them one line.
   */
  function poolLines(): bigint[] {
    const next = (() => { let s = 0x2545f491; return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; }; })();
    const bySet: number[][] = Array.from({ length: 12 }, () => []);
    let found = 0;
    while (found < 600) {
      const line = 1 + (next() % 2 ** 31);
      const set = Math.floor((hash32(line) * 65600) / 2 ** 32);
      if (set < 12 && bySet[set].length < 50) { bySet[set].push(line); found++; }
    }
    expect(hash32(12345)).toBe(Number(hashOf(12345n)));
    return bySet.flat().map(BigInt);
  }

  for (const [inclusion, policy] of [["nine", "lru"], ["exclusive", "lru"], ["exclusive", "plru"]] as const) {
    it(`${inclusion} ${policy} LLC of 65,600 sets × 4: u16 keys (128 GiB) answer as u32 tags (200 GiB) do`, async () => {
      const caches: CacheHierarchyConfig = { ...levels(64, 64, inclusion), llc: { sizeKiB: 16400, ways: 4, latency: 40, policy, inclusion } };
      const of = async (ram: string) => Machine.create({
        ram, memory: "tables-only", backedFrames: 16, managedRam: "16MiB", maxPhyAddr: 46, build: "debug", cpus: 2,
        cpu: { ...custom, name: "custom-caches", caches } as CpuPreset });
      const narrow = await of("128GiB"), wide = await of("200GiB");   // 200 GiB: lines up to 3.36e9, past HASH_DISTINCT_BELOW
      expect([tagBytes(narrow)[2], tagBytes(wide)[2]]).toEqual([2, 4]);
      const lines = poolLines();
      let s = 0x9e3779b9;
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < 30000; i++) {
        s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
        const pa = (lines[s % 600] - 1n) * 64n, cpu = (s >>> 20) & 1;
        const w = narrow.caches.access(cpu, pa);
        expect(w).toBe(wide.caches.access(cpu, pa));
        counts[["l1d", "l2", "llc", "memory"].indexOf(w)]++;
      }
      expect(counts[2]).toBeGreaterThan(400);   // the LLC's 12 × 4 ways against 600 lines: hits and evictions
      expect(counts[3]).toBeGreaterThan(10000);
    });
  }
});

const KEYS = [
  "page_walker_loads.dtlb_l1", "page_walker_loads.dtlb_l2", "page_walker_loads.dtlb_l3", "page_walker_loads.dtlb_memory",
  "walk_ad_ref", "walk_mem_ref", "dtlb_load_misses.walk_active", "dtlb_store_misses.walk_active", "cycles",
];

/**
 * Replay 30,000 loads over 40,000 random pages 32 KiB apart (each PTE in a line of its own: 2.5 MiB
 * of PTE lines, more than every preset's L2), demand mapped in a first pass, so that the second
 * walks on nearly every record (the look-ahead's case), on preset `cpu`, in one call per pass or
 * one call per record. @returns the second pass's counters KEYS
 */
async function walks(cpu: string, oneByOne: boolean): Promise<Record<string, bigint>> {
  const m = await Machine.create({ ram: "256MiB", cpu, caches: "walks" });
  const r = new Replayer(m, new DemandMapper(m).policy);
  let s = 0x2545f491;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const n = 30000;
  const vas = Array.from({ length: n }, () => 0x7f00_0000_0000n + BigInt(rnd() % 40000) * 32768n + BigInt(rnd() & 0xfc0));
  const pass = () => {
    if (!oneByOne) {
      vas.forEach((va, i) => r.batch.setAddress(i, va, 8, REC_KIND.read | REC_USER, 0));
      expect(r.run(n).completed).toBe(n);
      return;
    }
    for (const va of vas) {
      r.batch.setAddress(0, va, 8, REC_KIND.read | REC_USER, 0);
      expect(r.run(1).completed).toBe(1);
    }
  };
  pass();
  const a = m.counters(0);
  pass();
  const b = m.counters(0);
  return Object.fromEntries(KEYS.map((k) => [k, b[k] - a[k]]));
}

describe("the replay look-ahead into the LLC records changes no counter (cache.ts cacheTouchAhead, loop.ts touchAhead)", () => {
  for (const cpu of ["skylake", "zen4", "golden-cove"]) {
    it(`${cpu}: one call for the batch counts what one call per record counts`, async () => {
      const batch = await walks(cpu, false);
      expect(batch["page_walker_loads.dtlb_l3"] + batch["page_walker_loads.dtlb_memory"]).toBeGreaterThan(400n);   // golden-cove: 525 (its 2 MiB L2 keeps more)
      expect(batch).toEqual(await walks(cpu, true));
    });
  }
});
