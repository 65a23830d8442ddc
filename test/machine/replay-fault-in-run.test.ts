/**
 * A not-present fault the core's policy resolves inside the fast path's run (replay/loop.ts
 * fastMiss, no exit from the run) must count and change what one Cpu.access per record does.
 * SDM §4.10.4.1: a #PF invalidates the TLB entries for the faulting address in every TLB, the
 * instruction TLB's too, so the run's fetches after the fault must not see the entry the fault
 * dropped (the run keeps a memo of its last ITLB entry; fastMiss drops it on a fault; the lean
 * walk's flush, cpuFlushAddress, takes va out of every array). The trace:
 * a fetch through a stale ITLB entry (the leaf was cleared without INVLPG, which the TLB may keep
 * using), data reads that evict the page from the second level, a read of the page that faults
 * and is demand-mapped and retried within the run, then fetches of it again.
 */
import { describe, it, expect } from "vitest";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import type { AccessKind } from "../../src/types.js";

const X = 0x7f00_0040_0000n;
/** Pages in X's set of the second level (1536 entries, 12 ways: 128 sets) and of the L1 DTLB. */
const SAME_SET = Array.from({ length: 16 }, (_, j) => X + BigInt(j + 1) * 128n * 0x1000n);
const KINDS: AccessKind[] = ["read", "write", "fetch"];
const OVERRIDES = { "stlb[0].sizes": "4K" };

interface Rec { va: bigint; kind: number }
const fetch = (va: bigint): Rec => ({ va, kind: REC_KIND.fetch | REC_USER });
const read = (va: bigint): Rec => ({ va, kind: REC_KIND.read | REC_USER });
const SECOND: Rec[] = [fetch(X), fetch(X), ...SAME_SET.map(read), read(X), fetch(X), fetch(X)];

/** Map X and the pages of its set, fetch X once (ITLB and second level hold it), clear X's leaf without INVLPG. */
async function setUp() {
  const m = await Machine.create({ ram: "64MiB", cpu: "custom", overrides: OVERRIDES });
  const dm = new DemandMapper(m);
  for (const va of [X, ...SAME_SET]) expect(dm.map(va)).toBe(true);
  expect(m.cpu(0).access(X, { kind: "fetch", cpl: 3 }).ok).toBe(true);
  expect(m._core.exports.ptMap(dm.root, 4, X, 1, 0n, 7n)).toBe(0);
  return { m, dm };
}

describe("a demand fault resolved inside the fast path's run (replay/loop.ts fastMiss)", () => {
  it("after the #PF the ITLB entry it invalidated is gone for the run too (§4.10.4.1): counters equal one Cpu.access per record", async () => {
    const a = await setUp();
    const r = new Replayer(a.m, a.dm.policy);
    SECOND.forEach((rec, i) => r.batch.setAddress(i, rec.va, 8, rec.kind, 0));
    const before = a.m.counters(0);
    const res = r.run(SECOND.length);
    expect(res.completed).toBe(SECOND.length);
    expect(res.faults).toBe(1);

    const b = await setUp();
    let faults = 0;
    for (const rec of SECOND) {
      const opts = { kind: KINDS[rec.kind & 3], cpl: 3 as const };
      if (!b.m.cpu(0).access(rec.va, opts).ok) {
        faults++;
        expect(b.dm.map(rec.va)).toBe(true);
        expect(b.m.cpu(0).access(rec.va, opts).ok).toBe(true);
      }
    }
    expect(faults).toBe(1);
    const ca = a.m.counters(0), cb = b.m.counters(0);
    expect(ca).toEqual(cb);
    // The scenario happened: the first two fetches hit the stale ITLB entry (the second through
    // the memo), the read of X walked and faulted, the next fetch missed the ITLB (the fault
    // flushed it) and hit the second level (the retried read filled it); the last hit the ITLB.
    expect(Number(ca.fault_pf - before.fault_pf)).toBe(1);
    expect(Number(ca.tlb_l1i_hit - before.tlb_l1i_hit)).toBe(3);
    expect(Number(ca["itlb_misses.stlb_hit"] - before["itlb_misses.stlb_hit"])).toBe(1);
  });
});

describe("the core's demand policy writes the PTE the faulting walk stopped at (faultpolicy.ts faultPteAddress)", () => {
  /** Reads over two regions: pages sharing a page table (level-1 faults after the first) and pages 1 GiB apart (new tables). */
  const vas = [
    ...Array.from({ length: 40 }, (_, j) => X + BigInt((j * 37) % 512) * 0x1000n),
    ...Array.from({ length: 8 }, (_, j) => X + BigInt(j + 1) * 0x4000_0000n + 0x3000n),
  ];
  for (const ram of ["full", "tables-only"] as const) {
    it(`${ram}: every PTE, table count and counter as DemandMapper.map then Cpu.access gives`, async () => {
      const make = () => Machine.create({ ram: "64MiB", memory: ram === "tables-only" ? "tables-only" : "full", cpu: "custom", overrides: OVERRIDES });
      const a = await make();
      const dmA = new DemandMapper(a);
      const r = new Replayer(a, dmA.policy);
      vas.forEach((va, i) => r.batch.setAddress(i, va, 8, REC_KIND.read | REC_USER, 0));
      const res = r.run(vas.length);
      expect(res.completed).toBe(vas.length);

      const b = await make();
      const dmB = new DemandMapper(b);
      let faults = 0;
      for (const va of vas) {
        if (!b.cpu(0).access(va, { kind: "read", cpl: 3 }).ok) {
          faults++;
          expect(dmB.map(va)).toBe(true);
          expect(b.cpu(0).access(va, { kind: "read", cpl: 3 }).ok).toBe(true);
        }
      }
      expect(res.faults).toBe(faults);
      expect(faults).toBe(new Set(vas).size);
      expect(a.counters(0)).toEqual(b.counters(0));
      const ea = a._core.exports, eb = b._core.exports;
      expect(ea.ptTableFrames()).toBe(eb.ptTableFrames());
      for (const va of vas) {
        const pa = BigInt.asUintN(64, ea.ptEntryAddress(dmA.root, 4, va, 1));
        expect(pa).toBe(BigInt.asUintN(64, eb.ptEntryAddress(dmB.root, 4, va, 1)));
        const pte = BigInt.asUintN(64, ea.physRead(pa, 8));
        expect(pte).toBe(BigInt.asUintN(64, eb.physRead(pa, 8)));
        expect(pte & 0x67n).toBe(0x27n);   // P|RW|US, A set by the retried walk, D clear (reads)
      }
    });
  }
});

describe("a not-present PTE the specialised walk stops at (walkuser.ts walkUserAbsentPte, walkUserAbsentFault)", () => {
  // Fields of the CPU record (abi/layout.ts): CR2; the result record; the walk entries.
  const CPU_CR2 = 8, CPU_RESULT = 64, CPU_WALK = 128;
  const RES = { status: 0, errorCode: 4, vaddr: 8, levels: 32, stop: 36, stopLevel: 40, adWrites: 56, pscLevel: 60 };
  /** What a #PF defines of the CPU record: CR2, the result record's fault fields, four walk entries (level, pa, before, after). */
  function faultState(m: Machine) {
    const core = m._core, rec = core.exports.cpuRecord(0) >>> 0;
    const res = Object.fromEntries(Object.entries(RES).map(([k, off]) => [k, k === "vaddr" ? core.u64(rec + CPU_RESULT + off) : core.u32(rec + CPU_RESULT + off)]));
    const walk = Array.from({ length: 4 }, (_, i) => {
      const w = rec + CPU_WALK + i * 32;
      return [core.u32(w), core.u64(w + 8), core.u64(w + 16), core.u64(w + 24)];
    });
    return { cr2: core.u64(rec + CPU_CR2), res, walk };
  }
  /** Pages of X's page table, mapped; then X's PTE set to `absent` (P=0), and a page 1 GiB away whose PDPTE is absent. */
  async function setUp(absent: bigint) {
    const m = await Machine.create({ ram: "64MiB", cpu: "custom", overrides: OVERRIDES });
    const dm = new DemandMapper(m);
    for (let j = 1; j <= 8; j++) expect(dm.map(X + BigInt(j) * 0x1000n)).toBe(true);
    expect(m._core.exports.ptMap(dm.root, 4, X, 1, absent, 7n)).toBe(0);
    return { m, dm };
  }
  const FAR = X + 0x80_0000_0000n;   // 512 GiB on: the next PML4E, not present
  const cases: { name: string; absent: bigint; va: bigint; kind: number; error: number; levels: number }[] = [
    { name: "a read, PTE 0", absent: 0n, va: X + 0x18n, kind: REC_KIND.read, error: 0x4, levels: 4 },
    { name: "a write, PTE 0", absent: 0n, va: X + 0x18n, kind: REC_KIND.write, error: 0x6, levels: 4 },
    // A not-present PTE with other bits (a swap entry's shape): P=0 is all the walk tests (§4.7), the entry is recorded as read.
    { name: "a write, PTE with P=0 and other bits set", absent: 0x0123_4000_0000_0ffen, va: X + 0xff8n, kind: REC_KIND.write, error: 0x6, levels: 4 },
    // Not a PTE stop: walkUser reports nothing and the reference walk records the fault (one level read).
    { name: "a read, PML4E not present (the reference walk's fault)", absent: 0n, va: FAR, kind: REC_KIND.read, error: 0x4, levels: 1 },
  ];
  for (const c of cases) {
    it(`${c.name}: the replay stops with CR2, the result record and the walk entries Cpu.access leaves (SDM §4.7), every counter equal`, async () => {
      const recs = [...Array.from({ length: 8 }, (_, j) => X + BigInt(j + 1) * 0x1000n), c.va];
      const a = await setUp(c.absent);
      const stop = Object.assign(() => "stop" as const, { notPresent: () => "stop" as const });
      const r = new Replayer(a.m, stop);
      recs.forEach((va, i) => r.batch.setAddress(i, va, 8, (i === recs.length - 1 ? c.kind : REC_KIND.read) | REC_USER, 0));
      const res = r.run(recs.length);
      expect(res.completed).toBe(recs.length - 1);
      expect(res.stopped?.reason).toBe("fault");
      expect(res.stopped?.fault?.exception).toMatchObject({ vector: "PF", errorCode: c.error, cr2: c.va });

      const b = await setUp(c.absent);
      recs.forEach((va, i) => {
        const last = i === recs.length - 1;
        expect(b.m.cpu(0).access(va, { kind: last ? KINDS[c.kind & 3] : "read", cpl: 3 }).ok).toBe(!last);
      });
      const sa = faultState(a.m), sb = faultState(b.m);
      expect(sa.res).toEqual(sb.res);
      expect(sa.res).toMatchObject({ status: 1, errorCode: c.error, vaddr: c.va, levels: c.levels, stop: 1, stopLevel: 5 - c.levels, adWrites: 0, pscLevel: 0 });
      expect(sa.cr2).toBe(c.va);
      expect(sb.cr2).toBe(c.va);
      expect(sa.walk.slice(0, c.levels)).toEqual(sb.walk.slice(0, c.levels));
      if (c.levels === 4) expect(sa.walk[3].slice(0, 1).concat(sa.walk[3].slice(2))).toEqual([1, c.absent, c.absent]);
      expect(a.m.counters(0)).toEqual(b.m.counters(0));
    });
  }
});
