/**
 * The replay loop's fast paths of issue #17 against the reference path (one Cpu.access per
 * record): stores through entries whose leaf is clean (the dirty-bit assist, SDM §4.8: the
 * store walks again to set D), not-present faults the core resolves itself (count-and-skip and
 * 4 KiB demand mapping, replay/loop.ts resolveFault), 2 MiB pages splintered into 4 KiB-only
 * arrays (SDM §4.10.2.3; access.ts walkAndFillLean) and 2 MiB pages in arrays that hold them.
 * Every counter of both CPUs must agree; page tables start with A and D clear.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, countAndSkip, REC_KIND, REC_USER, type FaultPolicy } from "../../src/machine/replay.js";
import type { AccessKind } from "../../src/types.js";

const SEED = 20261207;
const BASE = 0x7f00_0000_0000n;
const KINDS: AccessKind[] = ["read", "write", "fetch"];
interface Rec { va: bigint; size: number; kind: number; cpu: number }

/**
 * An address space over [BASE, BASE + 64 MiB): the first 32 MiB as 2 MiB pages, the rest as
 * 4 KiB pages but every 7th, which is left unmapped (its accesses fault). Leaves P|RW|US, A/D clear.
 */
function mapSpace(m: Machine, root: bigint): void {
  const e = m._core.exports;
  const block = m.frames.alloc(9);
  if (block === null) throw new Error("no 2 MiB block");
  for (let h = 0n; h < 16n; h++) expect(e.ptMap(root, 4, BASE + h * 0x20_0000n, 2, (BigInt(block) << 12n) | 0x87n, 7n)).toBe(0);
  for (let p = 8192n; p < 16384n; p++) {
    if (p % 7n === 0n) continue;
    expect(e.ptMap(root, 4, BASE + p * 0x1000n, 1, ((BigInt(block) + (p & 511n)) << 12n) | 7n, 7n)).toBe(0);
  }
}

/** Seeded records: reads and writes (and a few fetches), over 2 MiB pages, 4 KiB pages and holes. */
function trace(n: number, seed: number, hotPages: number): Rec[] {
  let x = seed;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const recs: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const kind = r % 3 === 0 ? REC_KIND.write : r % 29 === 0 ? REC_KIND.fetch : REC_KIND.read;
    // Mostly a small set (hits, memo runs), else anywhere in the 64 MiB (walks, faults).
    const page = r % 4 === 0 ? BigInt(rnd() % 16384) : BigInt(8100 + (rnd() % hotPages));
    recs.push({ va: BASE + page * 0x1000n + BigInt(rnd() & 0xff8), size: 8, kind: kind | REC_USER, cpu: (r >>> 20) % 4 === 0 ? 1 : 0 });
  }
  return recs;
}

async function batchReplay(preset: string, overrides: Record<string, string>, recs: Rec[], policy: (dm: DemandMapper) => FaultPolicy, premap: boolean) {
  const m = await Machine.create({ ram: "256MiB", cpus: 2, cpu: preset, overrides });
  const dm = new DemandMapper(m);
  if (premap) mapSpace(m, dm.root);
  const r = new Replayer(m, policy(dm));
  recs.forEach((rec, i) => r.batch.setAddress(i, rec.va, rec.size, rec.kind, rec.cpu));
  const res = r.run(recs.length);
  return { m, res, counters: [m.counters(0), m.counters(1)], mapped: dm.mapped["4K"] };
}

/** The reference: one Cpu.access per record; a not-present fault is skipped, or mapped and retried. */
async function referenceReplay(preset: string, overrides: Record<string, string>, recs: Rec[], demand: boolean, premap: boolean) {
  const m = await Machine.create({ ram: "256MiB", cpus: 2, cpu: preset, overrides });
  const dm = new DemandMapper(m);
  if (premap) mapSpace(m, dm.root);
  let faults = 0;
  for (const rec of recs) {
    const cpu = m.cpu(rec.cpu);
    const opts = { kind: KINDS[rec.kind & 3], cpl: 3 as const };
    if (!cpu.access(rec.va, opts).ok) {
      faults++;
      if (demand) { expect(dm.map(rec.va)).toBe(true); expect(cpu.access(rec.va, opts).ok).toBe(true); }
    }
  }
  return { m, faults, counters: [m.counters(0), m.counters(1)], mapped: dm.mapped["4K"] };
}

const CONFIGS = [
  // 4 KiB-only arrays: 2 MiB walks fill splinters on the fast path.
  ["custom", { "stlb[0].sizes": "4K" }],
  // The second level holds 2 MiB entries itself (the general fill).
  ["custom", {}],
  // Separate 2 MiB L1 arrays, PSCs, PLRU.
  ["skylake", {}],
] as const;

describe("writes, count-and-skip faults and 2 MiB pages: one batch counts what one Cpu.access per record counts", () => {
  const recs = trace(20_000, SEED, 40);
  for (const [preset, overrides] of CONFIGS) {
    it(`${preset} ${JSON.stringify(overrides)}: every counter of both CPUs agrees`, async () => {
      const a = await batchReplay(preset, overrides, recs, () => countAndSkip, true);
      const b = await referenceReplay(preset, overrides, recs, false, true);
      expect(a.res.completed).toBe(recs.length);
      expect(a.res.faults).toBe(b.faults);
      for (const c of [0, 1]) expect(a.counters[c]).toEqual(b.counters[c]);
      // The trace does what it is for: dirty-bit assists, faults, walks of both page sizes.
      const all = (k: string) => Number(a.counters[0][k] + a.counters[1][k]);
      expect(all("tlb_dirty_rewalk")).toBeGreaterThan(20);
      expect(all("fault_pf")).toBeGreaterThan(300);
      // (Where the second level holds 2 MiB entries, the 16 huge pages stay cached: few walks.)
      const huge = Object.keys(overrides).length > 0 ? 300 : 30;
      expect(all("dtlb_load_misses.walk_completed_2m_4m") + all("dtlb_store_misses.walk_completed_2m_4m")).toBeGreaterThan(huge);
      expect(all("dtlb_load_misses.walk_completed_4k")).toBeGreaterThan(300);
    });
  }

  it("property: any seed and hot-set size, 4 KiB-only arrays (the splinter fast path)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 0x7fff_ffff }), fc.integer({ min: 1, max: 200 }), async (seed, hot) => {
        const rs = trace(1500, seed, hot);
        const a = await batchReplay("custom", { "stlb[0].sizes": "4K" }, rs, () => countAndSkip, true);
        const b = await referenceReplay("custom", { "stlb[0].sizes": "4K" }, rs, false, true);
        expect(a.res.faults).toBe(b.faults);
        for (const c of [0, 1]) expect(a.counters[c]).toEqual(b.counters[c]);
        // The entries the batch left translate as the reference's: same frames (splinters of
        // 2 MiB pages included), same rights and dirty state, hit or walk alike.
        for (const rec of rs.slice(-200)) {
          const opts = { kind: "read" as const, cpl: 3 as const };
          expect(a.m.cpu(rec.cpu).access(rec.va, opts)).toEqual(b.m.cpu(rec.cpu).access(rec.va, opts));
        }
      }),
      { seed: SEED, numRuns: 12 },
    );
  });
});

describe("demand mapping in the core (DemandMapper with 4 KiB pages) against one Cpu.access per record", () => {
  for (const [preset, overrides] of CONFIGS) {
    it(`${preset} ${JSON.stringify(overrides)}: counters, faults and pages mapped agree`, async () => {
      const recs = trace(12_000, SEED + 1, 60);
      const a = await batchReplay(preset, overrides, recs, (dm) => dm.policy, false);
      const b = await referenceReplay(preset, overrides, recs, true, false);
      expect(a.res.completed).toBe(recs.length);
      expect(a.res.faults).toBe(b.faults);
      expect(a.mapped).toBe(b.mapped);
      expect(a.mapped).toBeGreaterThan(2000);
      for (const c of [0, 1]) expect(a.counters[c]).toEqual(b.counters[c]);
    });
  }
});

describe("a policy the core applies does not return to JavaScript per fault", () => {
  it("count-and-skip: the policy function is never called for not-present faults, and the count is right", async () => {
    const recs = trace(5000, SEED + 2, 30);
    let calls = 0;
    const policy: FaultPolicy = Object.assign(() => { calls++; return "skip" as const; }, { notPresent: () => { calls++; return "skip" as const; }, core: { kind: "skip" as const } });
    const a = await batchReplay("custom", { "stlb[0].sizes": "4K" }, recs, () => policy, true);
    const b = await referenceReplay("custom", { "stlb[0].sizes": "4K" }, recs, false, true);
    expect(calls).toBe(0);
    expect(a.res.faults).toBe(b.faults);
    expect(b.faults).toBeGreaterThan(50);
  });

  it("a protection fault still goes to the policy function (countAndSkip stops on it)", async () => {
    const m = await Machine.create({ ram: "64MiB", cpu: "custom" });
    const dm = new DemandMapper(m);
    // A read-only user page (P|US): a store to it is a protection #PF, not the core's to resolve.
    expect(m._core.exports.ptMap(dm.root, 4, BASE, 1, (BigInt(m.frames.allocPage()!) << 12n) | 5n, 7n)).toBe(0);
    const r = new Replayer(m, countAndSkip);
    r.batch.setAddress(0, BASE + 0x5000n, 8, REC_KIND.read | REC_USER, 0);   // not present: skipped in the core
    r.batch.setAddress(1, BASE, 8, REC_KIND.read | REC_USER, 0);
    r.batch.setAddress(2, BASE + 8n, 8, REC_KIND.write | REC_USER, 0);        // protection: stops
    const res = r.run(3);
    expect(res.faults).toBe(1);
    expect(res.stopped?.reason).toBe("fault");
    expect(res.stopped?.index).toBe(2);
    expect(res.stopped?.fault?.exception.vector).toBe("PF");
  });

  it("the core's policy ends with the run: a later Replayer without one sees every fault", async () => {
    const m = await Machine.create({ ram: "64MiB", cpu: "custom" });
    new DemandMapper(m);
    const a = new Replayer(m, countAndSkip);
    a.batch.setAddress(0, BASE, 8, REC_KIND.read | REC_USER, 0);
    expect(a.run(1).faults).toBe(1);
    let seen = 0;
    const b = new Replayer(m, () => { seen++; return "skip"; });
    b.batch.setAddress(0, BASE + 0x1000n, 8, REC_KIND.read | REC_USER, 0);
    expect(b.run(1).faults).toBe(1);
    expect(seen).toBe(1);
  });
});

describe("an L1 refilled from a second-level splinter stays coherent (SDM §4.10.4.2)", () => {
  // A fetch walks a 2 MiB page (reference path: the STLB and the ITLB get the 4 KiB splinter); a
  // read of the same page then hits the STLB on the fast path and refills the L1 DTLB with that
  // splinter (tlbarray.ts arrayRefillLru), the DTLB's first. INVLPG of another 4 KiB piece of the
  // 2 MiB page must drop it (any address in a large page drops all its entries), so the next read
  // walks again. The DTLB finds its splinters only if the refill counted one (D_SPLINTERS).
  it("INVLPG of another piece of the 2 MiB page drops the refilled splinter: replay and Cpu.access agree", async () => {
    const overrides = { "stlb[0].sizes": "4K" };
    const p = BASE + 0x5008n, q = BASE + 0x1_2000n;   // both in the first 2 MiB page
    const first: Rec[] = [{ va: p, size: 8, kind: REC_KIND.fetch | REC_USER, cpu: 0 }, { va: p, size: 8, kind: REC_KIND.read | REC_USER, cpu: 0 }];
    const again: Rec[] = [{ va: p, size: 8, kind: REC_KIND.read | REC_USER, cpu: 0 }];
    const skip = () => Object.assign(() => "skip" as const, { notPresent: () => "skip" as const });
    const b = await batchReplay("custom", overrides, first, skip, true);
    const r = new Replayer(b.m, skip());
    b.m.cpu(0).invlpg(q);
    again.forEach((rec, i) => r.batch.setAddress(i, rec.va, rec.size, rec.kind, rec.cpu));
    expect(r.run(1).stopped).toBeUndefined();
    const ref = await referenceReplay("custom", overrides, first, false, true);
    ref.m.cpu(0).invlpg(q);
    expect(ref.m.cpu(0).access(p, { kind: "read", cpl: 3 }).ok).toBe(true);
    const got = b.m.counters(0), want = ref.m.counters(0);
    // The second read of p walks on both sides: the refilled splinter was dropped.
    expect(got.walk_started).toBe(want.walk_started);
    expect(got.walk_started).toBe(2n);
    expect(got).toEqual(want);
  });
});
