/**
 * The data-cache hierarchy (assembly/mmu/cache.ts) and what page walks pay through it: hits and
 * misses level by level, LRU and tree-PLRU victims, the LLC's inclusion policies (NINE,
 * inclusive with back-invalidation, exclusive victim cache), walk references charged at the
 * latency of the level their line is in (page_walker_loads.*), walk_active, data accesses in
 * mode "all" (mem_load_retired.*), and mode "off" keeping walkMemRef. Every expectation is worked
 * by hand from the rules in cache.ts.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { PageTableBuilder } from "../../src/machine/pagetables.js";
import { Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { custom } from "../../src/machine/presets/custom.js";
import type { CacheHierarchyConfig, CacheInclusion, CachePolicy, CpuPreset } from "../../src/machine/presets/types.js";
import type { MachineConfig } from "../../src/types.js";
import { TABLE_AREA } from "../helpers/machine.js";

/**
 * Tiny levels, 4 sets each (lines 256 B apart share a set): L1D 1 KiB 4-way, L2 2 KiB 8-way,
 * LLC `llcKiB` KiB (4 sets up to 4 KiB, then 16-way); latencies 4 / 12 / 40, memory 200.
 */
function tiny(policy: CachePolicy = "lru", inclusion: CacheInclusion = "nine", llcKiB = 4): CacheHierarchyConfig {
  return {
    l1d: { sizeKiB: 1, ways: 4, latency: 4, policy },
    l2: { sizeKiB: 2, ways: 8, latency: 12, policy: "lru" },
    llc: { sizeKiB: llcKiB, ways: Math.min(llcKiB * 4, 16), latency: 40, policy: "lru", inclusion },
    memoryLatency: 200,
    mode: "walks",
  };
}

function preset(caches: CacheHierarchyConfig): CpuPreset {
  return { ...custom, name: "custom-caches", caches };
}

async function machine(caches: CacheHierarchyConfig, config: MachineConfig = {}): Promise<Machine> {
  return Machine.create({ ram: "64MiB", build: "debug", cpu: preset(caches), ...config });
}

/** Line i of set 0: 256 B apart (4 sets of 64-byte lines). */
const line = (i: number) => 0x20_0000n + BigInt(i) * 256n;
const letters = (m: Machine, seq: string) => [...seq].map((ch) => m.caches.access(0, line(ch.charCodeAt(0) - 65)));

describe("cache levels: hits, misses and replacement (cache.ts)", () => {
  it("a cold line comes from memory and then hits L1D; its neighbour in the same 64-byte line hits too", async () => {
    const m = await machine(tiny());
    expect(m.caches.access(0, 0x20_0008n)).toBe("memory");
    expect(m.caches.access(0, 0x20_0030n)).toBe("l1d");
    expect(m.caches.access(0, 0x20_0040n)).toBe("memory");   // the next line
    expect([m.caches.holds(0, "l1d", 0x20_0000n), m.caches.holds(0, "l2", 0x20_0000n), m.caches.holds(0, "llc", 0x20_0000n)]).toEqual([true, true, true]);
  });

  it("true LRU, 4-way L1D: A B C D A E evicts B (the oldest); B then comes from L2 and evicts C", async () => {
    const m = await machine(tiny("lru"));
    expect(letters(m, "ABCDAE")).toEqual(["memory", "memory", "memory", "memory", "l1d", "memory"]);
    expect(letters(m, "B")).toEqual(["l2"]);
    expect(letters(m, "ADEBC")).toEqual(["l1d", "l1d", "l1d", "l1d", "l2"]);
    // Five lines cycled through four ways: once in LRU order, every one misses L1D.
    expect(letters(m, "ABCDE")).toEqual(["l2", "l1d", "l1d", "l2", "l2"]);
    expect(letters(m, "ABCDEABCDE").every((w) => w === "l2")).toBe(true);
  });

  it("tree PLRU, 4-way L1D: after A B C D A the tree points at C, so E evicts C (not B, as LRU would)", async () => {
    const m = await machine(tiny("plru"));
    letters(m, "ABCDAE");
    expect(m.caches.holds(0, "l1d", line(1))).toBe(true);    // B kept
    expect(m.caches.holds(0, "l1d", line(2))).toBe(false);   // C evicted
    expect(letters(m, "BC")).toEqual(["l1d", "l2"]);
  });

  it("each CPU has its own L1D and L2; the LLC is shared", async () => {
    const m = await machine(tiny(), { cpus: 2 });
    expect(m.caches.access(0, line(0))).toBe("memory");
    expect(m.caches.access(1, line(0))).toBe("llc");
    expect(m.caches.access(1, line(0))).toBe("l1d");
  });
});

describe("LLC inclusion policies (cache.ts)", () => {
  // LLC 1 KiB 4-way (4 sets): five lines of one set overflow it; L2 (8 ways) keeps all five.
  it("NINE: an LLC eviction leaves the line in L2", async () => {
    const m = await machine(tiny("lru", "nine", 1));
    letters(m, "ABCDE");
    expect(m.caches.holds(0, "llc", line(0))).toBe(false);
    expect(m.caches.holds(0, "l2", line(0))).toBe(true);
    expect(letters(m, "A")).toEqual(["l2"]);
  });

  it("inclusive: the LLC's victim is back-invalidated from every CPU's L1D and L2", async () => {
    const m = await machine(tiny("lru", "inclusive", 1), { cpus: 2 });
    letters(m, "A");
    m.caches.access(1, line(0));   // CPU 1 holds A too (from the LLC)
    letters(m, "BCDE");            // E's fill evicts A (oldest) from the LLC
    expect([0, 1].map((c) => [m.caches.holds(c, "l1d", line(0)), m.caches.holds(c, "l2", line(0))])).toEqual([[false, false], [false, false]]);
    expect(letters(m, "A")).toEqual(["memory"]);
  });

  it("exclusive (victim LLC): memory fills skip the LLC, L2 victims go into it, an LLC hit moves the line back up", async () => {
    const m = await machine(tiny("lru", "exclusive", 4));
    letters(m, "A");
    expect([m.caches.holds(0, "l2", line(0)), m.caches.holds(0, "llc", line(0))]).toEqual([true, false]);
    letters(m, "BCDEFGHI");        // the ninth line of the set: L2 (8 ways) evicts A into the LLC
    expect([m.caches.holds(0, "l2", line(0)), m.caches.holds(0, "llc", line(0))]).toEqual([false, true]);
    expect(letters(m, "A")).toEqual(["llc"]);
    expect([m.caches.holds(0, "l2", line(0)), m.caches.holds(0, "llc", line(0))]).toEqual([true, false]);
  });
});

describe("walk references through the caches (walk.ts, access.ts)", () => {
  const VA = 0x4000_0000n;
  const va = (i: number) => VA + BigInt(i) * 0x1000n;

  async function walked(mode: "walks" | "off") {
    const m = await machine(tiny("lru", "nine", 64), { caches: mode });
    const pt = new PageTableBuilder(m, TABLE_AREA);
    for (let i = 0; i < 16; i++) pt.map(va(i), 0x80_0000n + BigInt(i) * 0x1000n, { user: true, write: true, accessed: true, dirty: true });
    const cpu = m.cpu(0);
    cpu.writeCr3(pt.root);
    cpu.access(va(0));                 // sets A in the upper levels
    m.caches.flush();
    cpu.writeCr3(pt.root);             // and empties the TLBs
    const step = (i: number) => {
      const a = m.counters(0);
      cpu.access(va(i));
      const b = m.counters(0);
      return Object.fromEntries(["cycles_translation", "page_walker_loads.dtlb_l1", "page_walker_loads.dtlb_memory", "dtlb_load_misses.walk_active", "walk_mem_ref"].map((k) => [k, b[k] - a[k]]));
    };
    return { m, step };
  }

  it("a cold walk pays memory latency per level; under the same tables the next page's walk hits L1D for all four", async () => {
    const { step } = await walked("walks");
    // custom: l1Hit 0, stlbHit 8, no PSCs, so every walk reads four entries.
    expect(step(0)).toEqual({ "cycles_translation": 8n + 4n * 200n, "page_walker_loads.dtlb_l1": 0n, "page_walker_loads.dtlb_memory": 4n, "dtlb_load_misses.walk_active": 800n, "walk_mem_ref": 4n });
    expect(step(1)).toEqual({ "cycles_translation": 8n + 4n * 4n, "page_walker_loads.dtlb_l1": 4n, "page_walker_loads.dtlb_memory": 0n, "dtlb_load_misses.walk_active": 16n, "walk_mem_ref": 4n });
    // Page 8's PTE is in the next 64-byte line of the page table: three L1D hits and one memory read.
    expect(step(8)).toEqual({ "cycles_translation": 8n + 3n * 4n + 200n, "page_walker_loads.dtlb_l1": 3n, "page_walker_loads.dtlb_memory": 1n, "dtlb_load_misses.walk_active": 212n, "walk_mem_ref": 4n });
  });

  it("mode off: every reference costs latency.walkMemRef (20 in custom), nothing is looked up, walk_active stays 0", async () => {
    const { m, step } = await walked("off");
    expect(m.caches.mode).toBe("off");
    // walk_active is counted with the hierarchy on only.
    expect(step(0)).toEqual({ "cycles_translation": 8n + 80n, "page_walker_loads.dtlb_l1": 0n, "page_walker_loads.dtlb_memory": 0n, "dtlb_load_misses.walk_active": 0n, "walk_mem_ref": 4n });
    m.caches.mode = "walks";
    expect(step(8)["page_walker_loads.dtlb_memory"]).toBe(4n);
  });

  it("an A/D update looks its entry's line up (walk_ad_ref) and costs that line's latency plus adUpdate", async () => {
    const m = await machine(tiny("lru", "nine", 64));
    const pt = new PageTableBuilder(m, TABLE_AREA);
    pt.map(va(0), 0x80_0000n, { user: true, write: true, accessed: true });
    pt.map(va(1), 0x80_1000n, { user: true, write: true, accessed: true });
    const cpu = m.cpu(0);
    cpu.writeCr3(pt.root);
    cpu.access(va(0));
    const a = m.counters(0);
    cpu.access(va(1), { kind: "write" });   // walk (4 L1D hits), then D set in the PTE (its line: L1D)
    const b = m.counters(0);
    expect(b["walk_ad_ref"] - a["walk_ad_ref"]).toBe(1n);
    expect(b["cycles_translation"] - a["cycles_translation"]).toBe(8n + 4n * 4n + 4n + 20n);   // + L1D line + adUpdate
    expect(b["dtlb_store_misses.walk_active"] - a["dtlb_store_misses.walk_active"]).toBe(4n * 4n + 4n + 20n);
  });

  it("the replay's fast path charges the same walk cycles as access() (lean walks)", async () => {
    const run = async (viaReplay: boolean) => {
      const m = await machine(tiny("lru", "nine", 64));
      const pt = new PageTableBuilder(m, TABLE_AREA);
      for (let i = 0; i < 64; i++) pt.map(va(i * 7), 0x80_0000n + BigInt(i) * 0x1000n, { user: true, write: true, accessed: true, dirty: true });
      m.cpu(0).writeCr3(pt.root);
      const order = Array.from({ length: 200 }, (_, k) => (k * 37) % 64);
      if (viaReplay) {
        const r = new Replayer(m, () => "stop" as const);
        order.forEach((p, k) => r.batch.setAddress(k, va(p * 7), 8, REC_KIND.read | REC_USER, 0));
        expect(r.run(order.length).completed).toBe(order.length);
      } else for (const p of order) m.cpu(0).access(va(p * 7), { cpl: 3 });
      const c = m.counters(0);
      return ["cycles", "cycles_translation", "page_walker_loads.dtlb_l1", "page_walker_loads.dtlb_l2", "page_walker_loads.dtlb_l3", "page_walker_loads.dtlb_memory", "dtlb_load_misses.walk_active", "dtlb_load_misses.walk_pending"].map((k) => c[k]);
    };
    const replayed = await run(true);
    expect(replayed).toEqual(await run(false));
    expect(replayed[5]).toBeGreaterThan(0n);
    expect(replayed[6]).toBe(replayed[7]);
  });
});

describe("mode all: the replay's data accesses go through the caches (loop.ts dataRef)", () => {
  it("loads count mem_load_retired.* and cost their line's latency instead of baseAccess", async () => {
    const m = await machine(tiny("lru", "nine", 64), { caches: "all" });
    const pt = new PageTableBuilder(m, TABLE_AREA);
    pt.map(0x4000_0000n, 0x80_0000n, { user: true, write: true, accessed: true, dirty: true });
    m.cpu(0).writeCr3(pt.root);
    m.cpu(0).access(0x4000_0000n, { cpl: 3 });     // TLB warm, walk lines in cache
    const r = new Replayer(m, () => "stop" as const);
    // Same line twice, then a store to another line of the page.
    r.batch.setAddress(0, 0x4000_0000n, 8, REC_KIND.read | REC_USER, 0);
    r.batch.setAddress(1, 0x4000_0008n, 8, REC_KIND.read | REC_USER, 0);
    r.batch.setAddress(2, 0x4000_0100n, 8, REC_KIND.write | REC_USER, 0);
    const a = m.counters(0);
    expect(r.run(3).completed).toBe(3);
    const b = m.counters(0);
    const d = (k: string) => b[k] - a[k];
    expect([d("mem_load_retired.l1_miss"), d("mem_load_retired.l2_miss"), d("mem_load_retired.l3_miss"), d("mem_load_retired.l1_hit"), d("mem_store.memory")]).toEqual([1n, 1n, 1n, 1n, 1n]);
    // L1 TLB hits (l1Hit 0): memory 200 + L1D 4 + memory 200, replacing baseAccess (4) three times.
    expect(d("cycles")).toBe(404n);
  });

  it("a preset without caches refuses a mode other than off", async () => {
    await expect(Machine.create({ cpu: "custom", caches: "walks" })).rejects.toThrow(/no cache hierarchy/);
    const m = await Machine.create({ cpu: "custom" });
    expect(m.caches.configured).toBe(false);
    expect(() => { m.caches.mode = "all"; }).toThrow(/no cache hierarchy/);
  });

  it("the real presets default to walks through their hierarchy: golden-cove's L1D is 5 cycles, = baseAccess", async () => {
    const m = await Machine.create({ cpu: "golden-cove", ram: "16MiB" });
    expect(m.caches.mode).toBe("walks");
    expect([m.caches.latency("l1d"), m.config.preset.latency.baseAccess]).toEqual([5, 5]);
  });
});

describe("set-record tags: u32 up to 256 GiB of RAM, u64 above (cache.ts)", () => {
  const far = 1n << 38n;   // line(i) + 2^38: the same set, and the same low 32 bits of line + 1

  it("u32 tags (64 MiB of RAM): a reference at 2^38 + pa is not cached, and does not alias the line at pa", async () => {
    const m = await machine(tiny());
    expect(m.caches.access(0, line(0))).toBe("memory");
    expect(m.caches.access(0, line(0) + far)).toBe("memory");
    expect(m.caches.access(0, line(0) + far)).toBe("memory");
    expect([m.caches.holds(0, "l1d", line(0) + far), m.caches.holds(0, "l1d", line(0))]).toEqual([false, true]);
    expect(m.caches.access(0, line(0))).toBe("l1d");
  });

  it("u64 tags (tables-only, 512 GiB of RAM): lines at pa and 2^38 + pa are cached apart", async () => {
    const m = await Machine.create({ ram: "512GiB", memory: "tables-only", backedFrames: 16, managedRam: "16MiB", maxPhyAddr: 46, build: "debug", cpu: preset(tiny()) });
    expect(m.caches.access(0, line(0))).toBe("memory");
    expect(m.caches.access(0, line(0) + far)).toBe("memory");
    expect(m.caches.access(0, line(0))).toBe("l1d");
    expect(m.caches.access(0, line(0) + far)).toBe("l1d");
    // LRU across the two: A B C D (A = line 0, B = A + 2^38) then E evicts A, the oldest.
    letters(m, "CD");
    expect(m.caches.access(0, line(4))).toBe("memory");
    expect([m.caches.holds(0, "l1d", line(0)), m.caches.holds(0, "l1d", line(0) + far)]).toEqual([false, true]);
  });
});
