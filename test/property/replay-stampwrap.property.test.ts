/**
 * The TLB arrays' stamps are u32 (assembly/mmu/tlbarray.ts): before a CPU's clock reaches 2^32 the
 * core renumbers every stamp of the CPU's arrays by rank and restarts the clock above them
 * (assembly/mmu/tlbclock.ts). Only the order of stamps is ever read — true LRU's victim (the
 * oldest stamp of a set), a pool's choice between arrays (the oldest, or for PLRU pools the newest,
 * stamp of each array's set) and 0 for a free way — so a run whose clock crosses the limit must
 * evict exactly what the same run evicts without crossing it. Here machine A's clock is set just
 * below the limit (tlbClockSet, a test export; moving a clock forward keeps every order) before
 * batches and single accesses, so that it crosses several times; machine B runs the same records
 * untouched. Every counter, every entry at every (set, way) and the order of all stamps must
 * agree. Shapes: the replay's specialised model shape (hitRun, the shaped fills), a second level
 * with PSCs (skylake), two pooled second-level arrays with LRU and with PLRU (tlb.ts poolArray
 * compares stamps across arrays), and a second level with more stamped entries than the
 * renumbering's scratch holds (several passes).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, countAndSkip, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import type { TlbSnapshot } from "../../src/machine/tlbview.js";

const SEED = 20261208;
const BASE = 0x10_0000_0000n;
const HUGE = 0x20_0000_0000n;   // 2 MiB pages here (their fills into 4 KiB arrays are splinters)
/** tlbclock.ts CLOCK_LIMIT: 2^32 - 2^24. */
const LIMIT = 2n ** 32n - 2n ** 24n;

type Rec = { page: number; off: number; write: boolean };
type Op = { t: "batch"; recs: Rec[]; lead: number } | { t: "access"; recs: Rec[]; lead: number };

const va = (x: Rec) => (x.page < 0 ? HUGE + BigInt(-x.page - 1) * 0x1000n : BASE + BigInt(x.page) * 0x1000n) + BigInt(x.off);

async function machine(cpu: string, overrides: Record<string, string | number>, pages: number) {
  const m = await Machine.create({ ram: "256MiB", cpu, overrides });
  const dm = new DemandMapper(m);
  const e = m._core.exports;
  const block = m.frames.alloc(9);
  if (block === null) throw new Error("no 2 MiB block");
  for (let p = 0; p < pages; p++) {
    // Every 17th page left unmapped: its accesses fault and the policy counts and skips them.
    if (p % 17 !== 16) expect(e.ptMap(dm.root, 4, BASE + BigInt(p) * 0x1000n, 1, ((BigInt(block) + BigInt(p & 511)) << 12n) | 7n, 7n)).toBe(0);
  }
  for (let h = 0n; h < 4n; h++) expect(e.ptMap(dm.root, 4, HUGE + h * 0x20_0000n, 2, (BigInt(block) << 12n) | 0x87n, 7n)).toBe(0);
  expect(m.cpu(0).writeCr3(dm.root)).toBeNull();
  return { m, r: new Replayer(m, countAndSkip) };
}

/**
 * Run `ops`; with `wrap`, set the clock `lead` ticks below the limit before an op once the last
 * setting has been renumbered (never backwards). The replay checks the clock at the start of each
 * fast run and Cpu.access at each access, so an op either crosses the limit or leaves the clock at
 * or above it for the next op's first check: every two ops renumber at least once.
 */
async function run(cpu: string, overrides: Record<string, string | number>, pages: number, ops: Op[], wrap: boolean) {
  const { m, r } = await machine(cpu, overrides, pages);
  const e = m._core.exports;
  const start = e.tlbClockRenumbers();
  let sets = 0;
  for (const op of ops) {
    if (wrap && e.tlbClockRenumbers() - start === sets) { e.tlbClockSet(0, LIMIT - BigInt(op.lead)); sets++; }
    if (op.t === "batch") {
      op.recs.forEach((x, i) => r.batch.setAddress(i, va(x), 8, (x.write ? REC_KIND.write : REC_KIND.read) | REC_USER, 0));
      expect(r.run(op.recs.length).completed).toBe(op.recs.length);
    } else {
      for (const x of op.recs) m.cpu(0).access(va(x), { kind: x.write ? "write" : "read", cpl: 3 });
    }
  }
  return { m, counters: m.counters(0), tlb: m.cpu(0).tlbSnapshot(), renumbers: e.tlbClockRenumbers() - start };
}

/** Dense ranks of `xs` (equal values, equal ranks). */
function ranks(xs: bigint[]): number[] {
  const order = [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const at = new Map(order.map((v, i) => [v, i]));
  return xs.map((x) => at.get(x)!);
}

/** The snapshot without stamps, and every stamp in one list (the same order on both sides). */
function split(s: TlbSnapshot) {
  const stamps: bigint[] = [];
  const cells = s.arrays.map((a) => a.entries.map(({ stamp, ...rest }) => { stamps.push(stamp); return rest; }));
  return { cells, stamps };
}

const recArb = (hot: number, pages: number) => fc.record({
  page: fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: hot - 1 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: pages - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: -2048, max: -1 }) },
  ),
  off: fc.integer({ min: 0, max: 511 }).map((x) => x * 8),
  write: fc.boolean(),
});

// At least `lead` + 1 records per op, so that each op's clock crosses the limit.
const opArb = (hot: number, pages: number) => fc.integer({ min: 1, max: 60 }).chain((lead) => fc.oneof(
  { weight: 3, arbitrary: fc.array(recArb(hot, pages), { minLength: lead + 1, maxLength: 300 }).map((recs): Op => ({ t: "batch", recs, lead })) },
  { weight: 1, arbitrary: fc.array(recArb(hot, pages), { minLength: lead + 1, maxLength: 90 }).map((recs): Op => ({ t: "access", recs, lead })) },
));

const CONFIGS: { name: string; cpu: string; overrides: Record<string, string | number>; pages: number }[] = [
  { name: "the model's shape (hitRun, shaped fills)", cpu: "custom", overrides: { "stlb[0].sizes": "4K" }, pages: 3000 },
  { name: "skylake (PSCs, a second level of 4K and 2M)", cpu: "skylake", overrides: {}, pages: 3000 },
  { name: "golden-cove, pooled second level, LRU", cpu: "golden-cove", overrides: { "stlb[0].policy": "lru", "stlb[1].policy": "lru" }, pages: 3000 },
  {
    name: "two pooled 4K arrays, PLRU (a pool's choice by newest stamp)", cpu: "custom", pages: 600,
    overrides: { "stlb[0].entries": 64, "stlb[0].ways": 4, "stlb[0].sizes": "4K", "stlb[0].policy": "plru", "stlb[1].entries": 64, "stlb[1].ways": 4, "stlb[1].sizes": "4K", "stlb[1].policy": "plru" },
  },
];

describe("u32 stamps: a clock that crosses its limit evicts what an unrenumbered clock evicts (tlbclock.ts)", () => {
  for (const c of CONFIGS) {
    it(`${c.name}: counters, entries at every (set, way) and the order of stamps agree`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 4, max: 200 }).chain((hot) => fc.array(opArb(hot, c.pages), { minLength: 2, maxLength: 6 })), async (ops) => {
          const a = await run(c.cpu, c.overrides, c.pages, ops, true);
          const b = await run(c.cpu, c.overrides, c.pages, ops, false);
          expect(a.renumbers).toBeGreaterThanOrEqual(Math.floor(ops.length / 2));
          expect(b.renumbers).toBe(0);
          expect(a.counters).toEqual(b.counters);
          const sa = split(a.tlb), sb = split(b.tlb);
          expect(sa.cells).toEqual(sb.cells);
          expect(ranks(sa.stamps)).toEqual(ranks(sb.stamps));
        }),
        { seed: SEED, numRuns: 6 },
      );
    });
  }

  it("more stamped entries than the renumbering's scratch (4,096): several passes, the same victims", async () => {
    // 16,384 entries of 8 ways; 6,000 pages walked first leave about 6,000 distinct stamps.
    const overrides = { "stlb[0].entries": 16384, "stlb[0].ways": 8, "stlb[0].sizes": "4K" };
    const pages = 6400;
    const fill: Op = { t: "batch", lead: 0, recs: Array.from({ length: 6000 }, (_, i) => ({ page: (i * 7919) % pages, off: 0, write: i % 3 === 0 })) };
    const mixed = (k: number): Op => ({ t: "batch", lead: 40, recs: Array.from({ length: 2000 }, (_, i) => ({ page: (i * 104729 + k * 31) % pages, off: 8, write: i % 4 === 0 })) });
    const run2 = async (wrap: boolean) => {
      const { m, r } = await machine("custom", overrides, pages);
      const e = m._core.exports;
      const start = e.tlbClockRenumbers();
      let sets = 0;
      for (const op of [fill, mixed(1), mixed(2), mixed(3), mixed(4)]) {
        if (wrap && op !== fill && e.tlbClockRenumbers() - start === sets) { e.tlbClockSet(0, LIMIT - 40n); sets++; }
        op.recs.forEach((x, i) => r.batch.setAddress(i, va(x), 8, (x.write ? REC_KIND.write : REC_KIND.read) | REC_USER, 0));
        expect(r.run(op.recs.length).completed).toBe(op.recs.length);
      }
      return { counters: m.counters(0), tlb: split(m.cpu(0).tlbSnapshot()), renumbers: e.tlbClockRenumbers() - start };
    };
    const a = await run2(true);
    const b = await run2(false);
    expect(a.renumbers).toBeGreaterThanOrEqual(2);
    expect(a.counters).toEqual(b.counters);
    expect(a.tlb.cells).toEqual(b.tlb.cells);
    expect(ranks(a.tlb.stamps)).toEqual(ranks(b.tlb.stamps));
    expect(new Set(a.tlb.stamps).size).toBeGreaterThan(4096);
  });
});
