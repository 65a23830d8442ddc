/**
 * The replay loop's fast path (assembly/replay/loop.ts: the per-page memo run, the L1/second-level
 * probes, the walk it starts itself) may only decline, never decide differently: replaying a
 * trace in one batch must count exactly what replaying it one record per call counts, since a
 * one-record call never reaches the memo run and takes every record from a cold fast-path state.
 * Traces are runs of records on one page and CPU (what the memo run serves), with offsets up to
 * the page end, sizes 0..255 (straddles), every kind, user and supervisor accesses, a kind bit no
 * flag uses, two CPUs.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, REC_KIND, REC_USER, REC_IMPLICIT } from "../../src/machine/replay.js";
import type { AccessKind } from "../../src/types.js";

const SEED = 20261122;
const BASE = 0x7f00_0000_0000n;

interface Rec { va: bigint; size: number; kind: number; cpu: number }

const run = fc.record({
  page: fc.integer({ min: 0, max: 199 }),
  cpu: fc.integer({ min: 0, max: 1 }),
  kinds: fc.array(fc.constantFrom<AccessKind>("read", "read", "write", "fetch"), { minLength: 1, maxLength: 2 }),
  user: fc.constantFrom(true, true, true, false),
  implicit: fc.constantFrom(false, false, false, true),
  accesses: fc.array(fc.record({
    offset: fc.oneof(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 4080, max: 4095 }), fc.constant(0)),
    size: fc.constantFrom(0, 1, 2, 4, 8, 8, 8, 16, 255),
    k: fc.nat(),
    oddKind: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1),  // kind bit 2, which no flag uses
  }), { minLength: 1, maxLength: 40 }),
});

type Run = typeof run extends fc.Arbitrary<infer T> ? T : never;

function records(runs: Run[]): Rec[] {
  return runs.flatMap((r) => r.accesses.map((a) => ({
    va: BASE + BigInt(r.page) * 0x1000n + BigInt(a.offset),
    size: a.size,
    kind: REC_KIND[r.kinds[a.k % r.kinds.length]] | (r.user ? REC_USER : 0) | (r.implicit ? REC_IMPLICIT : 0) | (a.oddKind << 2),
    cpu: r.cpu,
  })));
}

async function replay(recs: Rec[], oneAtATime: boolean) {
  const m = await Machine.create({ ram: "64MiB", cpus: 2, cpu: "custom", overrides: { "stlb[0].sizes": "4K" } });
  const dm = new DemandMapper(m);
  // Supervisor and implicit accesses must not fault on a user page for the comparison to be
  // interesting past them: map every page first, then skip whatever still faults.
  const r = new Replayer(m, (f) => (f.exception.vector === "PF" && !f.exception.bits.present ? dm.policy(f) : "skip"));
  let completed = 0, faults = 0;
  if (oneAtATime) {
    for (const x of recs) {
      r.batch.setAddress(0, x.va, x.size, x.kind, x.cpu);
      const res = r.run(1);
      completed += res.completed;
      faults += res.faults;
    }
  } else {
    recs.forEach((x, i) => r.batch.setAddress(i, x.va, x.size, x.kind, x.cpu));
    const res = r.run(recs.length);
    completed = res.completed;
    faults = res.faults;
  }
  return { completed, faults, counters: [m.counters(0), m.counters(1)] };
}

describe("property: one batch counts what one record per call counts", () => {
  it("every counter of both CPUs agrees (fast path, memo runs, straddles, faults)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(run, { minLength: 1, maxLength: 60 }), async (runs) => {
        const recs = records(runs);
        const a = await replay(recs, false);
        const b = await replay(recs, true);
        expect(a).toEqual(b);
      }),
      { seed: SEED, numRuns: 40 },
    );
  });
});

describe("the miss path's look-ahead is invisible", () => {
  // 4,000 pages in a seeded random order (more than the second-level TLB's 1,536 entries), user
  // reads, twice: the first pass demand-maps, the second walks on most records, so the replay
  // loop reads the PTEs of the records ahead (replay/loop.ts touchAhead). One record per call
  // never reads ahead.
  it("a run of walks counts in one batch what it counts one record per call", async () => {
    const pages = Array.from({ length: 4000 }, (_, i) => i);
    let x = SEED;
    for (let i = pages.length - 1; i > 0; i--) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      const j = x % (i + 1);
      [pages[i], pages[j]] = [pages[j], pages[i]];
    }
    const pass = pages.map((p) => ({ va: BASE + BigInt(p) * 0x1000n + 8n, size: 8, kind: REC_KIND.read | REC_USER, cpu: 0 }));
    const recs = [...pass, ...pass];
    const a = await replay(recs, false);
    const b = await replay(recs, true);
    expect(a).toEqual(b);
    expect(Number(a.counters[0]["dtlb_load_misses.walk_completed"])).toBeGreaterThan(pages.length + 2000);
  });
});

describe("the filtered look-ahead is invisible", () => {
  // A hot set of 32 pages with excursions to 4,000 others (one record in ten), about 30 % writes
  // (issue #17 trace (a)'s shape, small): the records that walk are not consecutive, so the miss
  // path's look-ahead scans the records ahead for pages the L1 does not hold (replay/miss.ts
  // touchAhead's branch-free filter) and reads those records' PTEs. Twice over the same records:
  // the first pass demand-maps, the second walks with every page mapped. One record per call
  // never reads ahead.
  it("a hot set with excursions counts in one batch what it counts one record per call", async () => {
    let x = SEED;
    const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    const pass: Rec[] = [];
    for (let i = 0; i < 20_000; i++) {
      const write = rnd() % 10 < 3;
      const r = rnd();
      const page = r % 10 === 0 ? 32 + (rnd() % 4000) : rnd() % 32;
      pass.push({ va: BASE + BigInt(page) * 0x1000n + BigInt(rnd() & 0xff8), size: 8, kind: (write ? REC_KIND.write : REC_KIND.read) | REC_USER, cpu: 0 });
    }
    const recs = [...pass, ...pass];
    const a = await replay(recs, false);
    const b = await replay(recs, true);
    expect(a).toEqual(b);
    // Excursions walk (most of the 4,000 excursions of each pass; some hit the second level); the
    // hot set hits L1.
    expect(Number(a.counters[0]["dtlb_load_misses.walk_completed"]) + Number(a.counters[0]["dtlb_store_misses.walk_completed"])).toBeGreaterThan(2000);
    expect(Number(a.counters[0]["tlb_l1d_hit"])).toBeGreaterThan(30_000);
  });
});

describe("the fast path's lean walks count what the reference path counts", () => {
  // The replay loop's miss path (access.ts walkAndFillLean: the walker's outcome in walkOut*,
  // walk events in packed sums) against Cpu.access → tlbTranslate → walkAndFill, which reads
  // the result record and counts each event on the spot. User reads, writes and fetches within
  // one page (the accesses the fast path serves), over 3,000 pages so that most records walk,
  // on two CPUs; a not-present fault demand-maps and the record is tried again, in both. Direct
  // fills (custom), PSCs and role fills (skylake), 5-level walks, and tables-only memory (no
  // look-ahead, entries through the hash).
  const recs: Rec[] = [];
  let x = SEED;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  for (let i = 0; i < 12_000; i++) {
    const r = rnd();
    const kind = r % 7 === 0 ? REC_KIND.write : r % 11 === 0 ? REC_KIND.fetch : REC_KIND.read;
    recs.push({ va: BASE + BigInt(rnd() % 3000) * 0x1000n + BigInt(rnd() & 0xff0), size: 8, kind: kind | REC_USER, cpu: (r >>> 16) % 5 === 0 ? 1 : 0 });
  }
  const KINDS: AccessKind[] = ["read", "write", "fetch"];

  const configs = [
    ["custom", { "stlb[0].sizes": "4K" }, {}],
    ["skylake", {}, {}],
    ["custom", { "stlb[0].sizes": "4K" }, { paging: 5 }],
    ["skylake", {}, { memory: "tables-only" }],
  ] as const;
  for (const [preset, overrides, more] of configs) {
    it(`${preset} ${JSON.stringify(more)}: every counter of both CPUs agrees with one Cpu.access per record`, async () => {
      const create = () => Machine.create({ ram: "64MiB", cpus: 2, cpu: preset, overrides, ...more });
      const a = await create();
      const dmA = new DemandMapper(a);
      const r = new Replayer(a, dmA.policy);
      recs.forEach((rec, i) => r.batch.setAddress(i, rec.va, rec.size, rec.kind, rec.cpu));
      const batch = r.run(recs.length);
      expect(batch.completed).toBe(recs.length);

      const b = await create();
      const dmB = new DemandMapper(b);
      for (const rec of recs) {
        const cpu = b.cpu(rec.cpu);
        const opts = { kind: KINDS[rec.kind & 3], cpl: 3 as const };
        if (!cpu.access(rec.va, opts).ok) { dmB.map(rec.va); expect(cpu.access(rec.va, opts).ok).toBe(true); }
      }
      for (const c of [0, 1]) expect(a.counters(c)).toEqual(b.counters(c));
      expect(Number(a.counters(0)["dtlb_load_misses.walk_completed"])).toBeGreaterThan(3000);
    });
  }
});
