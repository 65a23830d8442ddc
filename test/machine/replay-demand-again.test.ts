/**
 * The walk again after a demand fault the core's policy resolved (replay/miss.ts fastAbsent,
 * walkuser.ts walkUserAgain): the faulting walk read the PML4E, PDPTE and PDE and stopped at a
 * not-present PTE; the policy wrote that PTE only, so the walk again starts from the entries
 * already read and the new leaf instead of descending from CR3. It must give what a second
 * Cpu.access gives after DemandMapper.map: the A bits of the upper entries that lacked them and
 * of the leaf, D on a write (SDM §4.8, Linux handle_pte_fault → do_anonymous_page then the
 * retried access), the same counters (ad_accessed_set, ad_dirty_set, walks, references, cycles)
 * and the same TLB entries.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";

const OVERRIDES = { "stlb[0].sizes": "4K" };
/** Tables under X exist (ptMap of X, never accessed: every upper entry P|RW|US with A clear); X+1.. are absent. */
const X = 0x7f00_0040_0000n;
/** 1 GiB away: a PDPTE that is absent (the policy maps through ptMap, the walk again descends from CR3). */
const FAR = X + 0x4000_0000n;

interface Rec { va: bigint; write: boolean }

/** A seeded mix of reads and writes: X's neighbours (PTE-level faults), repeats, and a few pages 1 GiB away. */
function records(seed: number): Rec[] {
  if (seed === 0) {
    // The first fault with every upper entry lacking A (a write), then a read of a second page:
    // no later walk (a dirty assist would be one) sets A bits the walks again should have set.
    return [{ va: X + 0x1008n, write: true }, { va: X + 0x2010n, write: false }];
  }
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  return Array.from({ length: 600 }, () => {
    const far = rnd() % 16 === 0;
    const va = (far ? FAR : X) + BigInt(rnd() % 96) * 0x1000n + BigInt(rnd() % 512) * 8n;
    return { va, write: rnd() % 3 === 0 };
  });
}

async function machine() {
  const m = await Machine.create({ ram: "64MiB", cpu: "custom", overrides: OVERRIDES });
  const dm = new DemandMapper(m);
  // X mapped with A and D clear (DemandMapper's bits), never touched: the tables above its
  // neighbours exist and their entries lack A.
  expect(m._core.exports.ptMap(dm.root, 4, X, 1, (BigInt(m.frames.alloc(0)!) << 12n) | 7n, 7n)).toBe(0);
  return { m, dm };
}

/** The PML4E, PDPTE, PDE and PTE of `va` under `root` (0 where a table is missing). */
function entries(m: Machine, root: bigint, va: bigint): bigint[] {
  const e = m._core.exports;
  return [4, 3, 2, 1].map((level) => {
    const pa = BigInt.asUintN(64, e.ptEntryAddress(root, 4, va, level));
    return pa === 0n ? 0n : BigInt.asUintN(64, e.physRead(pa, 8));
  });
}

describe("the walk again after a core-resolved demand fault (walkuser.ts walkUserAgain, replay/miss.ts fastAbsent)", () => {
  for (const seed of [0, 1, 0x5eed, 0xdead_beef]) {
    it(`seed ${seed}: every counter, entry (A/D) and TLB entry as Cpu.access, DemandMapper.map, Cpu.access`, async () => {
      const recs = records(seed);
      const a = await machine();
      const r = new Replayer(a.m, a.dm.policy);
      recs.forEach((x, i) => r.batch.setAddress(i, x.va, 8, (x.write ? REC_KIND.write : REC_KIND.read) | REC_USER, 0));
      const res = r.run(recs.length);
      expect(res.completed).toBe(recs.length);

      const b = await machine();
      let faults = 0;
      for (const x of recs) {
        const opts = { kind: x.write ? "write" as const : "read" as const, cpl: 3 as const };
        if (!b.m.cpu(0).access(x.va, opts).ok) {
          faults++;
          expect(b.dm.map(x.va)).toBe(true);
          expect(b.m.cpu(0).access(x.va, opts).ok).toBe(true);
        }
      }
      expect(res.faults).toBe(faults);
      const pages = new Set(recs.map((x) => x.va >> 12n));
      expect(faults).toBe(pages.size - (pages.has(X >> 12n) ? 1 : 0));   // X was mapped ahead
      const ca = a.m.counters(0), cb = b.m.counters(0);
      expect(ca).toEqual(cb);
      // The upper entries' A bits were set by walks again: three above X's neighbours, one per
      // missing table 1 GiB away (set by the reference's walk), and one per leaf.
      expect(Number(ca.ad_accessed_set)).toBeGreaterThanOrEqual(3 + pages.size);
      if (seed !== 0) expect(Number(ca.ad_dirty_set)).toBeGreaterThan(0);
      // X's upper entries: A set (by the walks again), as by the reference's.
      expect(entries(a.m, a.dm.root, X).slice(0, 3).map((e) => e & 0x20n)).toEqual([0x20n, 0x20n, 0x20n]);
      if (seed === 0) {
        expect(Number(ca.ad_accessed_set)).toBe(5);   // PML4E, PDPTE, PDE, two PTEs
        expect(Number(ca.ad_dirty_set)).toBe(1);
      }
      for (const p of pages) {
        const va = p << 12n;
        const ea = entries(a.m, a.dm.root, va);
        expect(ea).toEqual(entries(b.m, b.dm.root, va));
        expect(ea[3] & 0x21n).toBe(0x21n);   // present, accessed
      }
      // The last records' translations (and the TLB entries they hit or fill) agree.
      for (const x of recs.slice(-64)) {
        const opts = { kind: x.write ? "write" as const : "read" as const, cpl: 3 as const };
        expect(a.m.cpu(0).access(x.va, opts)).toEqual(b.m.cpu(0).access(x.va, opts));
      }
      expect(a.m.counters(0)).toEqual(b.m.counters(0));
    });
  }
});
