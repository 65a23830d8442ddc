/**
 * The replay loop's specialised walk (assembly/mmu/walkuser.ts, called from replay/loop.ts
 * fastMiss) against the reference path, one Cpu.access per record (tlbTranslate → walk.ts).
 *
 * The page tables vary every bit the specialised walk reads or must leave to walk.ts: leaves
 * with and without A and D (§4.8: a walk that must set them declines), read-only and supervisor
 * leaves and upper levels (§4.6.1), XD at the leaf or above (with EFER.NXE on, and off, where XD
 * is reserved), G (with CR4.PGE on and off, §4.10.2.4), PWT/PCD/PAT index bits under a PAT whose
 * eight entries differ (§4.9.2), protection keys in the leaf (kept in the entry though CR4.PKE=0),
 * reserved bits 51:M (Table 4-15…4-19), 2 MiB leaves with bits 20:13 set, 1 GiB leaves, pages not
 * present and non-canonical addresses (§3.3.7.1). Every counter of both CPUs must agree, the TLB
 * entries left behind must translate alike, and walkUserCount must show that the specialised walk
 * did the walks it covers. Configurations outside it (PSCs, 5-level paging, the cache hierarchy,
 * CR0.CD=1, CR4.PKE=1, tables-only memory) must fall back: the same counters, and not one
 * specialised walk.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { PRESETS } from "../../src/machine/presets/index.js";
import { DemandMapper, Replayer, REC_KIND, REC_USER, type FaultPolicy } from "../../src/machine/replay.js";
import type { AccessKind } from "../../src/types.js";

const SEED = 20261207;
const BASE = 0x7f00_0000_0000n;
const GIB = 0x4000_0000n;
const KINDS: AccessKind[] = ["read", "write", "fetch"];
const NX = 1n << 63n;
interface Rec { va: bigint; size: number; kind: number; cpu: number }
type CreateOpts = Parameters<typeof Machine.create>[0];
interface Setup { create: CreateOpts; regs?: { cr0?: bigint; cr4?: bigint; efer?: bigint; pat?: bigint } }

const hash = (x: bigint, salt: number): number => Number(((x * 0x9e37_79b1n + BigInt(salt) * 0x85eb_ca6bn) >> 7n) & 0xffffn);

/** Leaf bits of page `p`, varied by a hash of it: A, D, R/W, U/S, G, PWT, PCD, PAT, XD, a protection key, a reserved bit. */
function leafBits(p: bigint, patBit: bigint, maxPhy: number): bigint {
  const h = hash(p, 1);
  let b = 1n;                                   // P
  if (h % 7 !== 0) b |= 2n;                     // R/W (1 in 7 read-only: writes fault)
  if (h % 13 !== 0) b |= 4n;                    // U/S (1 in 13 supervisor: every user access faults)
  if ((h >> 3) % 2 === 0) b |= 0x20n;           // A
  if ((h >> 4) % 3 === 0) b |= 0x40n;           // D
  if ((h >> 5) % 4 === 0) b |= 0x100n;          // G
  if ((h >> 6) % 2 === 0) b |= 8n;              // PWT
  if ((h >> 7) % 2 === 0) b |= 0x10n;           // PCD
  if ((h >> 8) % 2 === 0) b |= patBit;          // PAT
  if ((h >> 9) % 5 === 0) b |= NX;
  b |= BigInt((h >> 10) & 15) << 59n;           // protection key
  if (h % 37 === 5) b |= 1n << BigInt(maxPhy);  // reserved: bits 51:MAXPHYADDR
  return b;
}

/**
 * Three 1 GiB regions whose upper-level entries differ — all rights (and A set); R/W clear; XD
 * set — each with 2 MiB leaves in its first 16 MiB and 4 KiB leaves over the next 8 MiB (1 in
 * 11 left unmapped); a 1 GiB leaf in a fourth; 2 MiB leaves with bits 20:13 set here and there.
 */
function mapSpace(m: Machine, root: bigint, maxPhy: number): void {
  const e = m._core.exports;
  const levels = m.config.paging;
  const block = m.frames.alloc(9);
  if (block === null) throw new Error("no 2 MiB block");
  const tables = [0x27n, 0x25n, 0x27n | NX];
  for (const [r, tf] of tables.entries()) {
    const region = BASE + BigInt(r) * GIB;
    for (let h = 0n; h < 8n; h++) {
      let leaf = (BigInt(block) << 12n) | 0x80n | leafBits(h + BigInt(r) * 100n, 1n << 12n, maxPhy);
      if (hash(h, r + 2) % 5 === 0) leaf |= 1n << 15n;           // reserved in a 2 MiB leaf (bits 20:13)
      expect(e.ptMap(root, levels, region + h * 0x20_0000n, 2, leaf, tf)).toBe(0);
    }
    for (let p = 4096n; p < 6144n; p++) {
      if (p % 11n === 0n) continue;
      const leaf = ((BigInt(block) + (p & 511n)) << 12n) | leafBits(p + BigInt(r) * 10_000n, 0x80n, maxPhy);
      expect(e.ptMap(root, levels, region + p * 0x1000n, 1, leaf, tf)).toBe(0);
    }
  }
  expect(e.ptMap(root, levels, BASE + 3n * GIB, 3, 0x80n | 0x67n, 0x27n)).toBe(0);
}

/** Seeded user reads and writes (a few fetches) over the four regions, some non-canonical, some on a hot set. */
function trace(n: number, seed: number): Rec[] {
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const recs: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const kind = r % 3 === 0 ? REC_KIND.write : r % 31 === 0 ? REC_KIND.fetch : REC_KIND.read;
    const region = BigInt(rnd() % 4);
    const page = r % 5 === 0 ? BigInt(4096 + (rnd() % 24)) : region === 3n ? BigInt(rnd() % 262144) : BigInt(rnd() % 6144);
    let va = BASE + region * GIB + page * 0x1000n + BigInt(rnd() & 0xff8);
    if (r % 97 === 0) va ^= 1n << 50n;                              // non-canonical: #GP
    recs.push({ va, size: 8, kind: kind | REC_USER, cpu: (r >>> 20) % 4 === 0 ? 1 : 0 });
  }
  return recs;
}

async function machine(s: Setup): Promise<{ m: Machine; dm: DemandMapper }> {
  const m = await Machine.create({ ram: "64MiB", cpus: 2, ...s.create });
  const dm = new DemandMapper(m);
  mapSpace(m, dm.root, m.config.maxPhyAddr);
  for (const c of [0, 1]) m.cpu(c).setRegisters(s.regs ?? {});
  return { m, dm };
}

/** Every fault skipped (by the host: protection, reserved and #GP faults are not the core policy's). */
const skipAll: FaultPolicy = Object.assign(() => "skip" as const, { notPresent: () => "skip" as const });

async function both(s: Setup, recs: Rec[]) {
  const a = await machine(s);
  const before = a.m._core.exports.walkUserCount();
  const runBefore = a.m._core.exports.missRunCount();
  const r = new Replayer(a.m, skipAll);
  recs.forEach((rec, i) => r.batch.setAddress(i, rec.va, rec.size, rec.kind, rec.cpu));
  const res = r.run(recs.length);
  const specialised = a.m._core.exports.walkUserCount() - before;
  const inRun = a.m._core.exports.missRunCount() - runBefore;
  const b = await machine(s);
  let faults = 0;
  for (const rec of recs) if (!b.m.cpu(rec.cpu).access(rec.va, { kind: KINDS[rec.kind & 3], cpl: 3 }).ok) faults++;
  expect(res.completed).toBe(recs.length);
  expect(res.faults).toBe(faults);
  for (const c of [0, 1]) expect(a.m.counters(c)).toEqual(b.m.counters(c));
  // What the arrays hold: the same translations (frames, rights, dirty state, page size) on a re-read.
  for (const rec of recs.slice(-300)) {
    const opts = { kind: "read" as const, cpl: 3 as const };
    expect(a.m.cpu(rec.cpu).access(rec.va, opts)).toEqual(b.m.cpu(rec.cpu).access(rec.va, opts));
  }
  const all = (k: string) => Number(a.m.counters(0)[k] + a.m.counters(1)[k]);
  return { specialised, inRun, faults, walks: all("walk_started"), all };
}

const CUSTOM_4K: CreateOpts = { cpu: "custom", overrides: { "stlb[0].sizes": "4K" } };
// PAT entries all different (WB, WT, UC-, UC, WC, WP and two more), so a wrong PAT index shows.
const PAT_MIXED = 0x0001_0504_0700_0406n;

describe("the specialised user walk (walkuser.ts) counts and fills what the reference walk does", () => {
  const recs = trace(12_000, SEED);

  it("4 KiB-only LRU arrays, default registers: every counter agrees and most walks are the specialised one", async () => {
    const { specialised, walks, faults, all } = await both({ create: CUSTOM_4K }, recs);
    // The trace does what it is for: faults of every kind, A/D updates, both page sizes.
    expect(faults).toBeGreaterThan(800);
    expect(all("fault_pf_prot")).toBeGreaterThan(100);
    expect(all("fault_pf_rsvd")).toBeGreaterThan(20);
    expect(all("fault_gp")).toBeGreaterThan(20);
    expect(all("ad_accessed_set")).toBeGreaterThan(300);
    expect(all("ad_dirty_set")).toBeGreaterThan(100);
    expect(all("dtlb_load_misses.walk_completed_2m_4m") + all("dtlb_store_misses.walk_completed_2m_4m")).toBeGreaterThan(100);
    expect(all("dtlb_load_misses.walk_completed_1g")).toBeGreaterThan(100);
    // Every data walk but those that fault or map 1 GiB is the specialised one (A/D updates
    // included); fetches, and stores through a clean entry (the dirty-bit assist), walk on the full path.
    const faultingWalks = all("fault_pf") - all("tlb_fault");
    const declined = faultingWalks + all("dtlb_load_misses.walk_completed_1g") + all("dtlb_store_misses.walk_completed_1g") + all("itlb_misses.walk_completed") + all("tlb_dirty_rewalk");
    // (A dirty-bit assist on a read-only page is a faulting walk too: at most `declined`.)
    expect(walks - specialised).toBeLessThanOrEqual(declined);
    expect(walks - specialised).toBeGreaterThanOrEqual(declined - all("tlb_dirty_rewalk"));
    expect(specialised).toBeGreaterThan(walks / 3);
  });

  const regs: [string, Setup["regs"]][] = [
    ["EFER.NXE=0 (XD reserved)", { efer: 0x501n }],
    ["CR4.PGE=0 (no global entries)", { cr4: 0x20n }],
    ["a PAT of eight different types", { pat: PAT_MIXED }],
    ["CR0.WP=0", { cr0: 0x80040033n }],
  ];
  for (const [name, r] of regs) {
    it(`${name}: every counter agrees and the specialised walk ran`, async () => {
      const { specialised, walks } = await both({ create: CUSTOM_4K, regs: r }, recs);
      expect(specialised).toBeGreaterThan(walks / 10);
    });
  }

  it("property: any seed, with the PAT and NXE varied", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 0x7fff_ffff }), fc.boolean(), fc.boolean(), async (seed, nxe, pat) => {
        const { specialised } = await both({ create: CUSTOM_4K, regs: { efer: nxe ? 0xd01n : 0x501n, pat: pat ? PAT_MIXED : undefined } }, trace(2000, seed));
        expect(specialised).toBeGreaterThan(0);
      }),
      { seed: SEED, numRuns: 8 },
    );
  });
});

describe("the cache hierarchy on walks: the specialised walk looks its entries up as walk.ts readEntry does", () => {
  const recs = trace(6000, SEED + 1);
  for (const preset of ["skylake", "zen4", "golden-cove"] as const) {
    it(`${preset}'s hierarchy (LLC ${PRESETS[preset].caches!.llc.inclusion}): every counter agrees, page_walker_loads and walk_active included`, async () => {
      const cpu = { ...PRESETS.custom, name: "custom-caches", caches: { ...PRESETS[preset].caches!, mode: "walks" as const } };
      const { specialised, inRun, walks, all } = await both({ create: { cpu, overrides: { "stlb[0].sizes": "4K" } } }, recs);
      expect(walks).toBeGreaterThan(1000);
      // Walks that set A or D go to walk.ts with the hierarchy on; the rest are the specialised walk's.
      expect(specialised).toBeGreaterThan(walks / 10);
      // hitRun's shape: runs of misses are walked in replay/miss.ts missRunCached's own loop.
      expect(inRun).toBeGreaterThan(100);
      // The references went through the hierarchy, beyond L1D too, and the A/D updates' lookups too.
      expect(all("page_walker_loads.dtlb_l1")).toBeGreaterThan(walks);
      expect(all("page_walker_loads.dtlb_memory")).toBeGreaterThan(100);
      expect(all("walk_ad_ref")).toBeGreaterThan(100);
      expect(all("dtlb_load_misses.walk_active")).toBeGreaterThan(0);
    });
  }
});

describe("configurations outside the specialised walk fall back to walk.ts: same counters, no specialised walk", () => {
  const recs = trace(6000, SEED + 1);
  const cases: [string, Setup][] = [
    ["paging-structure caches (skylake)", { create: { cpu: "skylake" } }],
    ["5-level paging", { create: { ...CUSTOM_4K, paging: 5 } }],
    ["CR0.CD=1", { create: CUSTOM_4K, regs: { cr0: 0xc0050033n } }],
    ["CR4.PKE=1", { create: CUSTOM_4K, regs: { cr4: 0x4000a0n } }],
    ["tables-only memory", { create: { ...CUSTOM_4K, memory: "tables-only", ram: "1GiB", backedFrames: 4096 } }],
    ["a second level that also holds 2 MiB entries", { create: { cpu: "custom" } }],
  ];
  for (const [name, s] of cases) {
    it(name, async () => {
      const { specialised, walks } = await both(s, recs);
      expect(walks).toBeGreaterThan(1000);
      expect(specialised).toBe(0);
    });
  }
});

describe("a non-canonical address on the fast path (SDM §3.3.7.1: #GP(0), no walk)", () => {
  it("counts what Cpu.access counts: the #GP, no walk started, no walk cycles (main counted a walk)", async () => {
    const va = 0x0008_0000_0000_1000n;   // bit 51 set: not canonical under 4-level paging
    const counts = async (batch: boolean) => {
      const m = await Machine.create({ ram: "64MiB", ...CUSTOM_4K });
      new DemandMapper(m);
      if (batch) {
        const r = new Replayer(m, skipAll);
        r.batch.setAddress(0, va, 8, REC_KIND.read | REC_USER, 0);
        const res = r.run(1);
        expect(res.faults).toBe(1);
      } else {
        expect(m.cpu(0).access(va, { kind: "read", cpl: 3 }).ok).toBe(false);
      }
      return m.counters(0);
    };
    const a = await counts(true), b = await counts(false);
    expect(a).toEqual(b);
    expect(a.fault_gp).toBe(1n);
    expect(a.walk_started).toBe(0n);
  });
});

describe("walkuser.ts leafFlags2m: a 2 MiB leaf's rights and memory type, memoised by its entries' non-address bits", () => {
  it("2 MiB leaves differing only in PAT (bit 12, SDM §4.9.2), PCD, PWT, R/W or XD, walked alternately: each splinter has its own leaf's type and rights", async () => {
    const leaves = Array.from({ length: 32 }, (_, h) => {
      let b = 0x80n | 0x65n;                    // PS, P, U/S, A, D; R/W below
      if (h & 1) b |= 1n << 12n;                // PAT (a 2 MiB leaf's bit 12: also the lowest frame bit of a 4 KiB one)
      if (h & 2) b |= 0x10n;                    // PCD
      if (h & 4) b |= 8n;                       // PWT
      if (!(h & 8)) b |= 2n;                    // R/W
      if (h & 16) b |= NX;
      return b;
    });
    const setup = async () => {
      const m = await Machine.create({ ram: "64MiB", cpus: 1, ...CUSTOM_4K });
      const dm = new DemandMapper(m);
      const block = m.frames.alloc(10);         // 4 MiB: a 2 MiB-aligned frame with bit 12 of its address clear
      if (block === null) throw new Error("no 4 MiB block");
      const frame = ((BigInt(block) + 511n) & ~511n) << 12n;
      leaves.forEach((b, h) => expect(m._core.exports.ptMap(dm.root, 4, BASE + BigInt(h) * 0x20_0000n, 2, frame | b, 7n)).toBe(0));
      m.cpu(0).setRegisters({ pat: PAT_MIXED, efer: 0xd01n });
      return m;
    };
    // Reads of random splinters of the 32 pages (mostly misses of both arrays: 32 × 512 pieces).
    let x = SEED;
    const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    const vas = Array.from({ length: 4000 }, () => BASE + BigInt(rnd() % 32) * 0x20_0000n + BigInt(rnd() % 512) * 0x1000n + 8n);
    const a = await setup();
    const before = a._core.exports.walkUserCount();
    const r = new Replayer(a, skipAll);
    vas.forEach((va, i) => r.batch.setAddress(i, va, 8, REC_KIND.read | REC_USER, 0));
    expect(r.run(vas.length).completed).toBe(vas.length);
    expect(a._core.exports.walkUserCount() - before).toBeGreaterThan(3500);
    const b = await setup();
    for (const va of vas) expect(b.cpu(0).access(va, { kind: "read", cpl: 3 }).ok).toBe(true);
    expect(a.counters(0)).toEqual(b.counters(0));
    // The entries the replay filled last (its L1 and second level) against the reference's.
    const types = new Set<string>();
    for (const va of vas.slice(-400)) {
      const ta = a.cpu(0).access(va, { kind: "read", cpl: 3 });
      expect(ta).toEqual(b.cpu(0).access(va, { kind: "read", cpl: 3 }));
      if (ta.ok) types.add(`${ta.memoryType}/${ta.rights.write}/${ta.rights.noExecute}`);
    }
    // The pages do differ: eight memory types × R/W × XD.
    expect(types.size).toBeGreaterThanOrEqual(24);
  });
});
