/**
 * The presets' shapes of the cache lookup below L1D (assembly/mmu/cache.ts cacheBelowL1, belowL1,
 * lookupL1, cacheTouchAhead, touchVictimAhead): each preset's geometry (ways, policies, u16 tags,
 * inclusion) runs as literals, every other geometry through the generic code over the globals.
 * Which geometry gets which shape (cacheShapeUse), and that the shaped code answers exactly as the
 * generic code does: the same HIT_* for every reference of a random stream on two CPUs (zen4's
 * exclusive LLC moving L2 victims down, skylake's inclusive LLC back-invalidating both CPUs'
 * L1D and L2, golden-cove's hashed LLC), the same lines held at every level afterwards, and the
 * same walk counters for a replay with its look-ahead.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { Replayer, DemandMapper, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { custom } from "../../src/machine/presets/custom.js";
import { zen4 as zen4Preset } from "../../src/machine/presets/zen4.js";
import type { CacheHierarchyConfig, CpuPreset } from "../../src/machine/presets/types.js";

const SHAPES: Record<string, number> = { zen4: 1, "golden-cove": 2, skylake: 3 };

describe("which geometry runs as a preset's shape (cache.ts shapeOf, cacheShapeUse)", () => {
  it("zen4 1, golden-cove 2, skylake 3 on 4000 MiB and on 64 MiB; generic on request; none without a hierarchy", async () => {
    for (const [cpu, shape] of Object.entries(SHAPES)) {
      for (const ram of ["4000MiB", "64MiB"]) {
        const m = await Machine.create({ ram, cpu, caches: "walks" });
        expect(m._core.exports.cacheShapeUse(false)).toBe(shape);
        expect(m._core.exports.cacheShapeUse(true)).toBe(0);
        expect(m._core.exports.cacheShapeUse(false)).toBe(shape);
      }
    }
    expect((await Machine.create({ ram: "16MiB", cpu: "custom" }))._core.exports.cacheShapeUse(false)).toBe(0);
  });

  it("a geometry no preset has is generic: zen4's with an LRU L1D, or a 4-way LLC", async () => {
    const zen4 = zen4Preset.caches!;
    const with_ = async (caches: CacheHierarchyConfig) =>
      (await Machine.create({ ram: "64MiB", cpu: { ...custom, name: "custom-caches", caches } as CpuPreset }))._core.exports.cacheShapeUse(false);
    expect(await with_({ ...zen4, mode: "walks" })).toBe(1);
    expect(await with_({ ...zen4, mode: "walks", l1d: { ...zen4.l1d, policy: "lru" } })).toBe(0);
    expect(await with_({ ...zen4, mode: "walks", llc: { ...zen4.llc, ways: 4 } })).toBe(0);
  });
});

/** Level names of cacheHolds (src/machine/caches.ts). */
const LEVELS = ["l1d", "l2", "llc"] as const;

describe("the shaped lookup answers as the generic one (cacheAccess on two CPUs, cacheHolds)", () => {
  for (const cpu of Object.keys(SHAPES)) {
    it(`${cpu}: 60,000 references over 24 MiB on two CPUs, the same where, the same lines held`, async () => {
      const run = async (generic: boolean) => {
        const m = await Machine.create({ ram: "64MiB", cpu, cpus: 2, caches: "walks" });
        expect(m._core.exports.cacheShapeUse(generic)).toBe(generic ? 0 : SHAPES[cpu]);
        let s = 0x1234567;
        const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
        // Most references within 24 MiB (more than zen4's L2 and skylake's LLC hold), one in four
        // to a hot 256 KiB, so every level hits and misses.
        const where: number[] = [];
        for (let i = 0; i < 60000; i++) {
          const r = rnd();
          const pa = (r & 3) === 0 ? (rnd() % 4096) * 64 : (rnd() % 393216) * 64;
          where.push(m.caches.access(r & 4 ? 1 : 0, pa) as unknown as number);
        }
        const held: boolean[] = [];
        for (let line = 0; line < 393216; line += 37) for (const c of [0, 1]) for (const l of LEVELS) held.push(m.caches.holds(c, l, line * 64));
        return { where, held };
      };
      const shaped = await run(false);
      const generic = await run(true);
      const tally = (ws: unknown[]) => ws.reduce<Record<string, number>>((t, w) => ({ ...t, [String(w)]: (t[String(w)] ?? 0) + 1 }), {});
      // Not vacuous: every level answers some references.
      expect(Object.keys(tally(shaped.where)).length).toBe(4);
      expect(shaped.where).toEqual(generic.where);
      expect(shaped.held).toEqual(generic.held);
      expect(shaped.held.filter(Boolean).length).toBeGreaterThan(1000);
    });
  }
});

const KEYS = [
  "page_walker_loads.dtlb_l1", "page_walker_loads.dtlb_l2", "page_walker_loads.dtlb_l3", "page_walker_loads.dtlb_memory",
  "walk_mem_ref", "cycles",
];

describe("a replay's walks count the same with the shaped and the generic lookup (walkuser's inline L1D, the look-ahead)", () => {
  for (const cpu of Object.keys(SHAPES)) {
    it(`${cpu}: 30,000 loads over 40,000 random pages, second pass`, async () => {
      const run = async (generic: boolean) => {
        const m = await Machine.create({ ram: "256MiB", cpu, caches: "walks" });
        m._core.exports.cacheShapeUse(generic);
        const r = new Replayer(m, new DemandMapper(m).policy);
        let s = 0x2545f491;
        const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
        const vas = Array.from({ length: 30000 }, () => 0x7f00_0000_0000n + BigInt(rnd() % 40000) * 32768n + BigInt(rnd() & 0xfc0));
        const pass = () => { vas.forEach((va, i) => r.batch.setAddress(i, va, 8, REC_KIND.read | REC_USER, 0)); expect(r.run(vas.length).completed).toBe(vas.length); };
        pass();
        const a = m.counters(0);
        pass();
        const b = m.counters(0);
        return Object.fromEntries(KEYS.map((k) => [k, b[k] - a[k]]));
      };
      const shaped = await run(false);
      expect(shaped["page_walker_loads.dtlb_l3"] + shaped["page_walker_loads.dtlb_memory"]).toBeGreaterThan(400n);
      expect(shaped).toEqual(await run(true));
    });
  }
});
