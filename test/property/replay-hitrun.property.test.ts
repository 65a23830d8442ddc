/**
 * The replay's specialised hit loop (replay/loop.ts hitRun: one L1 DTLB of 4 ways and one
 * second level of 12, both true LRU and 4 KiB only) against the reference path (one Cpu.access
 * per record). hitRun probes by tag key alone — no tag word, no PCID compare — which is exact only
 * while every valid entry carries the current PCID tag (tlbarray.ts arrayOneTag) and the key holds
 * vpn bit 35 (16 sets or more; va bit 47 tells the halves apart, SDM §4.5 canonical addresses).
 * So the sequences here mix user batches with what could break that: CR3 loads that switch PCID
 * without a flush (SDM §4.10.1: entries of several PCIDs coexist), global pages (§4.10.2.4: a
 * global entry serves every PCID), supervisor accesses to upper-half aliases of the user pages
 * (an entry whose vpn bits 34:0 equal a user page's), INVLPG and a full flush (CR4.PGE toggled,
 * §4.10.4.1) after which hitRun takes the arrays again. The same sequences run on shapes that
 * fall back to the general loop: an L1 of 8 sets (the key misses bit 35) and a 16-way second level.
 * Every counter must agree, and so must the translations the arrays hold at the end.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { DemandMapper, Replayer, countAndSkip, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import { CR3_NOFLUSH, CR4_PCIDE, CR4_PGE } from "../../src/machine/pgtable.js";
import { PRESETS } from "../../src/machine/presets/index.js";

const SEED = 20261207;
const BASE = 0x7f00_0000_0000n;
/** The upper-half alias of a user address: the same bits 46:0, bit 47 and up set. */
const alias = (va: bigint) => va | 0xffff_8000_0000_0000n;
const PAGES = 3000;

type Op =
  | { t: "batch"; recs: { page: number; off: number; write: boolean; fetch: boolean }[] }
  | { t: "pcid"; pcid: number }
  | { t: "kernel"; page: number }
  | { t: "touch"; pages: number[] }
  | { t: "invlpg"; page: number }
  | { t: "flushAll" };

/** 2 MiB pages for the run of misses (missRun): HUGES of them from HUGE, every 8th a hole (not present). */
const HUGE = 0x7e00_0000_0000n;
const HUGES = 64;
/** Page p: a 4 KiB page below PAGES, else 4 KiB piece p - PAGES of the 2 MiB pages at HUGE. */
const pageVa = (p: number) => (p < PAGES ? BASE + BigInt(p) * 0x1000n : HUGE + BigInt(p - PAGES) * 0x1000n);

/** The custom preset's TLBs with preset `caches`'s cache hierarchy on walks (issue #16), or none. */
type Caches = "zen4" | "golden-cove" | undefined;
const cpuWith = (caches: Caches) =>
  caches === undefined ? "custom" : { ...PRESETS.custom, name: "custom-caches", caches: { ...PRESETS[caches].caches!, mode: "walks" as const } };

async function machine(overrides: Record<string, string | number>, huge = false, caches: Caches = undefined) {
  const m = await Machine.create({ ram: "128MiB", cpu: cpuWith(caches), overrides });
  const dm = new DemandMapper(m);
  const e = m._core.exports;
  if (huge) {
    // P|RW|US|PS, A and D clear (the walk sets them, SDM §4.8): 2 MiB pages on one block.
    const big = m.frames.alloc(9);
    if (big === null) throw new Error("no 2 MiB block");
    for (let h = 0; h < HUGES; h++) if (h % 8 !== 7) expect(e.ptMap(dm.root, 4, HUGE + BigInt(h) * 0x20_0000n, 2, (BigInt(big) << 12n) | 0x87n, 7n)).toBe(0);
  }
  const block = m.frames.alloc(9);
  if (block === null) throw new Error("no 2 MiB block");
  for (let p = 0; p < PAGES; p++) {
    const frame = (BigInt(block) + BigInt(p & 511)) << 12n;
    // Every 5th page global. Every 3rd has an upper-half alias on another frame, user-accessible
    // (as the vsyscall page is): a probe that took the alias's entry for the user page would hit.
    expect(e.ptMap(dm.root, 4, pageVa(p), 1, frame | (p % 5 === 0 ? 0x107n : 7n), 7n)).toBe(0);
    if (p % 3 === 0) expect(e.ptMap(dm.root, 4, alias(pageVa(p)), 1, (frame ^ 0x10_0000n) | 7n, 7n)).toBe(0);
  }
  const cpu = m.cpu(0);
  expect(cpu.writeCr4(cpu.registers.cr4 | CR4_PGE | CR4_PCIDE)).toBeNull();
  expect(cpu.writeCr3(dm.root | 1n)).toBeNull();
  return { m, root: dm.root, r: new Replayer(m, countAndSkip) };
}

/** Run `ops` on a machine, user records through the batch replay (`batch`) or Cpu.access. */
async function run(overrides: Record<string, string | number>, ops: Op[], batch: boolean, huge = false, caches: Caches = undefined) {
  const { m, root, r } = await machine(overrides, huge, caches);
  const cpu = m.cpu(0);
  for (const op of ops) {
    if (op.t === "batch") {
      const kind = (x: { write: boolean; fetch: boolean }) => (x.fetch ? REC_KIND.fetch : x.write ? REC_KIND.write : REC_KIND.read);
      if (batch) {
        op.recs.forEach((x, i) => r.batch.setAddress(i, pageVa(x.page) + BigInt(x.off), 8, kind(x) | REC_USER, 0));
        expect(r.run(op.recs.length).completed).toBe(op.recs.length);
      } else {
        for (const x of op.recs) cpu.access(pageVa(x.page) + BigInt(x.off), { kind: x.fetch ? "fetch" : x.write ? "write" : "read", cpl: 3 });
      }
    } else if (op.t === "pcid") expect(cpu.writeCr3(root | BigInt(op.pcid) | CR3_NOFLUSH)).toBeNull();
    else if (op.t === "kernel") cpu.access(alias(pageVa(op.page)), { kind: "read", cpl: 0 });
    else if (op.t === "touch") for (const p of op.pages) cpu.access(pageVa(p), { kind: "read", cpl: 3 });
    else if (op.t === "invlpg") cpu.invlpg(pageVa(op.page));
    else {
      const cr4 = cpu.registers.cr4;
      expect(cpu.writeCr4(cr4 & ~CR4_PGE)).toBeNull();
      expect(cpu.writeCr4(cr4)).toBeNull();
    }
  }
  return { m, counters: m.counters(0) };
}

/**
 * A miss-heavy user batch (issue #17 trace (e)): mostly random 4 KiB pieces of the 2 MiB pages
 * (splinters in 4 KiB-only arrays; holes that fault and are skipped), some of the 4 KiB pages
 * (runs of 4 KiB walks: the look-ahead's case) and a small hot set (hits between the misses).
 */
const missBatchOp = fc.array(
  fc.record({
    page: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: PAGES, max: PAGES + HUGES * 512 - 1 }) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: PAGES - 1 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }) },
    ),
    off: fc.integer({ min: 0, max: 511 }).map((x) => x * 8),
    write: fc.boolean(),
    fetch: fc.constant(false),
  }),
  { minLength: 100, maxLength: 800, size: "max" },
).map((recs): Op => ({ t: "batch", recs }));

// A PCID switch leaves entries of two tags (hitRun declines until a full flush), so it is rare here.
const missOpArb = fc.oneof(
  { weight: 12, arbitrary: missBatchOp },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((pcid): Op => ({ t: "pcid", pcid })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: PAGES + HUGES * 512 - 1 }).map((page): Op => ({ t: "invlpg", page })) },
  { weight: 2, arbitrary: fc.constant<Op>({ t: "flushAll" }) },
);

const CONFIGS = [
  // hitRun's shape: 64 × 4 (16 sets) and 1,536 × 12 (128 sets).
  { "stlb[0].sizes": "4K" },
  // An L1 of 8 sets: a key (vpn >> 3) misses bit 35, so an upper-half alias shares it; general loop.
  { "stlb[0].sizes": "4K", "l1d.entries": 32 },
  // A 16-way second level: the general loop.
  { "stlb[0].sizes": "4K", "stlb[0].entries": 2048, "stlb[0].ways": 16 },
] as const;

/**
 * A user batch over `hot` pages of the first `span` (L1 hits, second-level hits, walks); one batch
 * in four has a few fetches (hitRun hands the rest of its run to the general loop at the first).
 */
const batchOp = (hot: number, span: number) => fc.tuple(fc.integer({ min: 0, max: 3 }), fc.array(
  fc.record({
    page: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: hot - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: span - 1 }) }),
    off: fc.integer({ min: 0, max: 511 }).map((x) => x * 8),
    write: fc.boolean(),
    fetch: fc.integer({ min: 0, max: 40 }).map((x) => x === 0),
  }),
  { minLength: 1, maxLength: 400 },
)).map(([fetchy, recs]): Op => ({ t: "batch", recs: fetchy === 0 ? recs : recs.map((x) => ({ ...x, fetch: false })) }));

/** A page of the hot set with an upper-half alias (a multiple of 3). */
const aliased = (hot: number) => fc.integer({ min: 0, max: Math.max(0, Math.floor((hot - 1) / 3)) }).map((k) => 3 * k);

const opArb = (hot: number, span: number) => fc.oneof(
  { weight: 6, arbitrary: batchOp(hot, span) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }).map((pcid): Op => ({ t: "pcid", pcid })) },
  // Supervisor reads of aliases, mostly of hot pages (their entries then sit beside the user ones).
  { weight: 2, arbitrary: fc.oneof(aliased(hot), aliased(span)).map((page): Op => ({ t: "kernel", page })) },
  // User reads through the full path (entries filled outside the replay, under the current PCID).
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: hot - 1 }), { minLength: 1, maxLength: 8 }).map((pages): Op => ({ t: "touch", pages })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: span - 1 }).map((page): Op => ({ t: "invlpg", page })) },
  { weight: 1, arbitrary: fc.constant<Op>({ t: "flushAll" }) },
);

/**
 * A replay of user reads and writes `recs` on hitRun's shape with 2 MiB pages (machine(…, true)),
 * after `setup`: through the batch replay (`batch`) with a policy that calls `onFault` and skips,
 * or one Cpu.access per record calling `onFault` on each fault. The arrays start empty (a full
 * flush after `setup`). @returns the counters and the walks missRun did in its loop
 */
async function playFaulting(batch: boolean, recs: { va: bigint; write: boolean }[],
  setup: (m: Awaited<ReturnType<typeof machine>>) => (() => void)) {
  const env = await machine(CONFIGS[0], true);
  const { m } = env;
  const cpu = m.cpu(0);
  const onFault = setup(env);
  const cr4 = cpu.registers.cr4;
  expect(cpu.writeCr4(cr4 & ~CR4_PGE)).toBeNull();
  expect(cpu.writeCr4(cr4)).toBeNull();
  let faults = 0;
  const fault = () => { faults++; onFault(); };
  const policy = (() => { fault(); return "skip" as const; }) as unknown as ConstructorParameters<typeof Replayer>[1];
  const r = new Replayer(m, policy);
  const runs = m._core.exports.missRunCount();
  if (batch) {
    recs.forEach((x, i) => r.batch.setAddress(i, x.va, 8, (x.write ? REC_KIND.write : REC_KIND.read) | REC_USER, 0));
    expect(r.run(recs.length).completed).toBe(recs.length);
  } else {
    for (const x of recs) if (!cpu.access(x.va, { kind: x.write ? "write" : "read", cpl: 3 }).ok) fault();
  }
  return { counters: m.counters(0), inRun: m._core.exports.missRunCount() - runs, faults };
}

/** playFaulting through the batch replay and through Cpu.access: one fault each, every counter equal. */
async function bothFaulting(recs: { va: bigint; write: boolean }[], setup: Parameters<typeof playFaulting>[2]) {
  const a = await playFaulting(true, recs, setup);
  const b = await playFaulting(false, recs, setup);
  expect([a.faults, b.faults]).toEqual([1, 1]);
  expect(a.counters).toEqual(b.counters);
  return { inRun: a.inRun, counters: b.counters };
}

describe("replay hitRun: exact probes by tag key, against one Cpu.access per record", () => {
  for (const overrides of CONFIGS) {
    it(`custom ${JSON.stringify(overrides)}: PCID switches, global pages, upper-half aliases, flushes`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 300 }).chain((hot) => fc.integer({ min: 300, max: PAGES }).chain((span) => fc.tuple(fc.constant(span), fc.array(opArb(hot, span), { minLength: 1, maxLength: 14 })))), async ([span, ops]) => {
          const a = await run(overrides, ops, true);
          const b = await run(overrides, ops, false);
          expect(a.counters).toEqual(b.counters);
          // What the arrays hold translates alike (a hit or a walk, the same frame and rights).
          for (let p = 0; p < span; p += 7) {
            for (const cpl of [3, 0] as const) {
              const va = cpl === 3 ? pageVa(p) : alias(pageVa(p - (p % 3)));
              expect(a.m.cpu(0).access(va, { kind: "read", cpl })).toEqual(b.m.cpu(0).access(va, { kind: "read", cpl }));
            }
          }
        }),
        { seed: SEED, numRuns: 16 },
      );
    });
  }

  // Without a cache hierarchy (missRun), and with zen4's and golden-cove's on walks (missRunCached:
  // the walks' references through the caches, their cycles also walk_active's).
  for (const caches of [undefined, "zen4", "golden-cove"] as const) {
    const name = caches === undefined ? "missRun" : `missRunCached, ${caches}'s hierarchy on walks`;
    it(`runs of misses over 2 MiB pages (${name}: walked and filled in one loop), A/D clear, holes, PCID switches: every counter agrees`, async () => {
      let inRun = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(missOpArb, { minLength: 1, maxLength: 8 }), async (ops) => {
          const a = await run(CONFIGS[0], ops, true, true, caches);
          // Each Machine has a core of its own: its count is this run's.
          inRun += a.m._core.exports.missRunCount();
          const b = await run(CONFIGS[0], ops, false, true, caches);
          expect(a.counters).toEqual(b.counters);
          if (caches !== undefined) {
            // The run reached the hierarchy's statistics (compared above).
            expect(Number(b.counters["dtlb_load_misses.walk_active"]) + Number(b.counters["dtlb_store_misses.walk_active"])).toBeGreaterThan(0);
          }
          // What the arrays hold translates alike (ad_* counters above: the same A/D bits set).
          for (let p = 0; p < PAGES + HUGES * 512; p += 97) {
            expect(a.m.cpu(0).access(pageVa(p), { kind: "read", cpl: 3 })).toEqual(b.m.cpu(0).access(pageVa(p), { kind: "read", cpl: 3 }));
          }
          // With a hierarchy the re-reads' walks look up the caches: the same lines must be held.
          if (caches !== undefined) expect(a.m.counters(0)).toEqual(b.m.counters(0));
        }),
        // No shrinking: a failing sequence is long, and two machines replay each candidate.
        { seed: SEED, numRuns: 12, endOnFailure: true },
      );
      // The loop of misses did walks of its own (not only fastMiss's).
      expect(inRun).toBeGreaterThan(caches === undefined ? 5000 : 2000);
    });
  }

  it("a fault the host decides in the middle of a run of misses: the arrays missRun filled (noting no tag) are claimed for the PCID, so the host's INVLPG drops their entries (SDM §4.10.4.1)", async () => {
    // After a full flush both arrays hold nothing (arrayOneTag TAG_NONE, which cpuFlushAddress
    // skips; hitLoop claims them for the PCID before missRun fills them). missRun fills them with
    // 2 MiB splinters; a not-present PDE (a hole) stops the run with a fault for the host, whose
    // policy invalidates the first splinter's page before skipping. The re-reads of that page must
    // walk again, as on the reference path.
    const splinter = (h: number, x: number) => PAGES + h * 512 + x;
    const rec = (page: number, off: number, write: boolean) => ({ va: pageVa(page) + BigInt(off), write });
    const run1 = Array.from({ length: 40 }, (_, n) => rec(splinter(n % 6, (n * 37) % 512), 8, n % 3 === 0));
    const recs = [
      // 4 KiB pages first (a run that the look-ahead starts), then the run of splinters, the hole,
      // and re-reads of the run's first eight.
      ...Array.from({ length: 10 }, (_, p) => rec(p, 0, false)),
      ...run1,
      rec(splinter(7, 5), 0, false),
      ...run1.slice(0, 8).map((x) => ({ ...x, write: false })),
    ];
    const { inRun, counters } = await bothFaulting(recs, ({ m }) => () => m.cpu(0).invlpg(run1[0].va));
    expect(inRun).toBeGreaterThan(30);
    // 10 + 40 walks, the hole's, and the re-reads of the two splinters of the invalidated 2 MiB
    // page (the INVLPG of a splinter drops every splinter of its page: tlb.ts cpuFlushAddress); the
    // six other re-reads hit.
    expect(Number(counters.walk_started)).toBe(53);
    expect(Number(counters.walk_completed)).toBe(52);
  });

  it("a protection #PF in the middle of a run of splinters drops the splinters the run filled of that 2 MiB page (SDM §4.10.4.1; the arrays' splinter counts up to date at the hand-over)", async () => {
    // A read-only user 2 MiB page: reads of its 4 KiB pieces fill splinters in missRun's loop; a
    // write to another piece is declined by walkUser and faults (protection) on the reference
    // walk, whose flush must find the splinters (tlbarray.ts arrayFlushAddress scans for them only
    // while the array's splinter count is not 0). The re-reads must walk again, as on the reference.
    const RO = HUGE + 200n * 0x20_0000n;
    // The first record walks a 4 KiB page through fastMiss (the look-ahead's case, whose fill counts
    // its splinters itself): the run's splinters are all missRun's.
    const recs = [
      { va: pageVa(1), write: false },
      ...Array.from({ length: 12 }, (_, n) => ({ va: RO + BigInt((n * 41) % 512) * 0x1000n, write: false })),
      { va: RO + 500n * 0x1000n, write: true },
      ...Array.from({ length: 12 }, (_, n) => ({ va: RO + BigInt((n * 41) % 512) * 0x1000n + 8n, write: false })),
    ];
    const { inRun, counters } = await bothFaulting(recs, ({ m, root }) => {
      const big = m.frames.alloc(9);
      if (big === null) throw new Error("no 2 MiB block");
      expect(m._core.exports.ptMap(root, 4, RO, 2, (BigInt(big) << 12n) | 0x85n, 7n)).toBe(0);
      return () => {};
    });
    expect(inRun).toBeGreaterThanOrEqual(11);
    expect(Number(counters.fault_pf_prot)).toBe(1);
    // Every read walks: the fault dropped the twelve splinters, so their re-reads walk again.
    expect(Number(counters["dtlb_load_misses.walk_completed_2m_4m"])).toBe(24);
  });

  it("the sequences reach what they are for: second-level hits under two PCIDs, global hits, alias entries", async () => {
    // One fixed sequence on hitRun's shape; the reference's counts show it takes each path.
    const recs = (from: number, n: number, write: boolean) => Array.from({ length: n }, (_, i) => ({ page: from + ((i * 7) % 200), off: (i * 8) % 4096, write, fetch: false }));
    const ops: Op[] = [
      { t: "batch", recs: recs(0, 1000, false) },
      { t: "kernel", page: 3 }, { t: "kernel", page: 6 },
      { t: "batch", recs: recs(0, 1000, true) },
      { t: "pcid", pcid: 2 },
      { t: "batch", recs: recs(0, 1000, false) },
      { t: "flushAll" },
      { t: "batch", recs: recs(0, 1000, false) },
    ];
    const a = await run(CONFIGS[0], ops, true);
    const b = await run(CONFIGS[0], ops, false);
    expect(a.counters).toEqual(b.counters);
    const c = b.counters;
    // 200 pages cycle through a 64-entry L1: mostly second-level hits.
    expect(Number(c["dtlb_load_misses.stlb_hit"])).toBeGreaterThan(2000);
    expect(Number(c["dtlb_store_misses.stlb_hit"])).toBeGreaterThan(500);
    // Under PCID 2 the non-global pages walk again (160 of 200), the global ones (40) do not.
    expect(Number(c["dtlb_load_misses.walk_completed_4k"])).toBeGreaterThanOrEqual(200 + 160 + 200);
    expect(Number(c.tlb_dirty_rewalk)).toBeGreaterThan(100);
  });
});
