/**
 * TLB coherence: with the invalidations Intel SDM Vol. 3A §4.10.4 requires after every change to
 * the paging structures, a machine with TLBs and paging-structure caches must translate exactly
 * like a machine with none (every access walks). Random sequences over two address spaces with
 * PCIDs (CR4.PCIDE=1, CR3 = root | PCID, with and without bit 63) mix accesses (read, write,
 * fetch; CPL 0 and 3), mapping changes (map, unmap, permission change of a leaf, rights change
 * of a PDE/PDPTE/PML4E, removal of a whole page table) each followed by an invalidation (§4.10.4.1: INVLPG in the current address space;
 * INVPCID type 0 or 1 with the other space's PCID; or a CR3 load without bit 63 when switching
 * to it), CR3 switches and CR0.WP / CR4.SMAP / CR4.SMEP / RFLAGS.AC changes. Every access must
 * give the same outcome (ok with the same physical address, or the same #PF error code).
 *
 * The generator invalidates after every change, upgrades included: §4.10.4.3 lets a processor
 * keep a stale, less permissive entry after an upgrade (a spurious #PF), which a machine without
 * TLBs never reports.
 *
 * A second property replays random traces through Replayer + DemandMapper on both kinds of
 * machine: completed records, faults, pages mapped, A/D counts and the final page tables agree.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { PageTableBuilder, RangeTableSource, makeLeaf } from "../../src/machine/pagetables.js";
import { DemandMapper, Replayer, REC_KIND, REC_USER } from "../../src/machine/replay.js";
import type { AccessKind, MachineConfig, Translation } from "../../src/types.js";
import {
  CR0_WP, CR4_PCIDE, CR4_SMAP, CR4_SMEP, PAGE_ACCESSED, PAGE_DIRTY, PAGE_NX, PAGE_PRESENT, PAGE_RW, PAGE_USER,
} from "../../src/machine/pgtable.js";

const SEED = 20261121;
const NOFLUSH = 1n << 63n;
const RFLAGS_AC = 1n << 18n;
const PAGES = 16;
const FRAMES = 8;
const PCID = [1n, 2n] as const;

/**
 * Page i: four groups of 4 pages, one page table each, spread so that PDE, PDPTE and PML4E caches
 * all matter: group 1 is the next PDE after group 0, group 2 the next PDPTE, group 3 the next PML4E.
 */
const GROUP_OFFSET = [0n, 0x20_0000n, 0x4000_0000n, 0x80_0000_0000n];
const pageVa = (i: number) => 0x4000_0000_0000n + GROUP_OFFSET[i >> 2] + BigInt(i & 3) * 0x1000n;
const framePa = (f: number) => 0x80_0000n + BigInt(f) * 0x1000n;
/** The pages sharing page i's page table. */
const tableMates = (i: number) => [0, 1, 2, 3].map((k) => (i & ~3) | k);

type As = 0 | 1;
type Inv = "invlpg" | "invpcid0" | "invpcid1" | "defer";
type Flags = { write: boolean; user: boolean; noExecute: boolean; accessed: boolean; dirty: boolean };
type Op =
  | { t: "access"; page: number; offset: number; kind: AccessKind; cpl: 0 | 3 }
  | { t: "map"; as: As; page: number; frame: number; flags: Flags; inv: Inv }
  | { t: "unmap"; as: As; page: number; inv: Inv }
  | { t: "protect"; as: As; page: number; flags: Flags; inv: Inv }
  | { t: "zap"; as: As; page: number; inv: Inv }
  | { t: "upper"; as: As; page: number; level: 2 | 3 | 4; write: boolean; user: boolean; noExecute: boolean; inv: Inv }
  | { t: "switch"; as: As; noflush: boolean }
  | { t: "reg"; which: "wp" | "smap" | "smep" | "ac" };

/** One machine and its two address spaces; applies ops, invalidating as the SDM requires. */
class World {
  readonly m: Machine;
  private readonly spaces: PageTableBuilder[];
  private cur: As = 0;
  /** A change to this (non-current) space awaits a CR3 load without bit 63. */
  private readonly stale = [false, false];

  private constructor(m: Machine) {
    this.m = m;
    const source = new RangeTableSource(m, { start: 0x10_0000n, end: 0x80_0000n });
    this.spaces = [new PageTableBuilder(m, source), new PageTableBuilder(m, source)];
    // Start with every page mapped (user, writable, executable; frames differ between the spaces).
    this.spaces.forEach((pt, s) => {
      for (let i = 0; i < PAGES; i++) pt.map(pageVa(i), framePa((i + 3 * s) % FRAMES), { write: true, user: true });
    });
    const cpu = m.cpu(0);
    must(cpu.writeCr3(this.spaces[0].root));
    must(cpu.writeCr4(cpu.registers.cr4 | CR4_PCIDE));
    must(cpu.writeCr3(this.spaces[0].root | PCID[0]));
  }

  static async create(config: MachineConfig): Promise<World> {
    return new World(await Machine.create({ ram: "16MiB", build: "debug", cpu: "custom", ...config }));
  }

  /** Apply one op; for accesses, the outcome as a string. */
  apply(op: Op): string | null {
    const cpu = this.m.cpu(0);
    switch (op.t) {
      case "access": {
        const t = cpu.access(pageVa(op.page) + BigInt(op.offset), { kind: op.kind, cpl: op.cpl });
        return outcome(t);
      }
      case "map":
        this.spaces[op.as].map(pageVa(op.page), framePa(op.frame), op.flags);
        this.invalidate(op.as, [op.page], op.inv);
        return null;
      case "unmap": {
        const pte = this.spaces[op.as].lookup(pageVa(op.page), 1);
        if (pte === null) return null;
        this.m.phys.write64(pte, 0n);
        this.invalidate(op.as, [op.page], op.inv);
        return null;
      }
      case "protect": {
        // mprotect: same frame, new rights, A and D kept.
        const pte = this.spaces[op.as].lookup(pageVa(op.page), 1);
        if (pte === null) return null;
        const old = this.m.phys.read64(pte);
        if (old === 0n) return null;
        const ad = old & (PAGE_ACCESSED | PAGE_DIRTY);
        this.m.phys.write64(pte, makeLeaf(old & 0x000f_ffff_ffff_f000n, 1, { ...op.flags, accessed: false, dirty: false }) | ad);
        this.invalidate(op.as, [op.page], op.inv);
        return null;
      }
      case "zap": {
        // Remove the whole page table (clear the PDE): a change to a non-leaf entry, so the PSCs matter.
        const pde = this.spaces[op.as].lookup(pageVa(op.page), 2);
        if (pde === null || this.m.phys.read64(pde) === 0n) return null;
        this.m.phys.write64(pde, 0n);
        this.invalidate(op.as, tableMates(op.page), op.inv);
        return null;
      }
      case "upper": {
        // Change the rights of a non-leaf entry (PDE, PDPTE or PML4E): what the PSCs cache, folded.
        const epa = this.spaces[op.as].lookup(pageVa(op.page), op.level);
        if (epa === null) return null;
        const old = this.m.phys.read64(epa);
        if (old === 0n) return null;
        const bits = PAGE_PRESENT | (op.write ? PAGE_RW : 0n) | (op.user ? PAGE_USER : 0n) | (op.noExecute ? PAGE_NX : 0n);
        this.m.phys.write64(epa, (old & (0x000f_ffff_ffff_f000n | PAGE_ACCESSED)) | bits);
        const shift = BigInt(12 + 9 * op.level);
        const under = Array.from({ length: PAGES }, (_, i) => i).filter((i) => pageVa(i) >> shift === pageVa(op.page) >> shift);
        this.invalidate(op.as, under, op.inv);
        return null;
      }
      case "switch": {
        const flush = !op.noflush || this.stale[op.as];
        must(cpu.writeCr3(this.spaces[op.as].root | PCID[op.as] | (flush ? 0n : NOFLUSH)));
        if (flush) this.stale[op.as] = false;
        this.cur = op.as;
        return null;
      }
      case "reg": {
        const r = cpu.registers;
        if (op.which === "wp") must(cpu.writeCr0(r.cr0 ^ CR0_WP));
        else if (op.which === "smap") must(cpu.writeCr4(r.cr4 ^ CR4_SMAP));
        else if (op.which === "smep") must(cpu.writeCr4(r.cr4 ^ CR4_SMEP));
        else cpu.writeRflags(r.rflags ^ RFLAGS_AC);
        return null;
      }
    }
  }

  /** The invalidation §4.10.4.1 requires after changing `pages` of space `as`. */
  private invalidate(as: As, pages: number[], how: Inv): void {
    const cpu = this.m.cpu(0);
    if (as === this.cur) {
      // Current space: INVLPG each page, or INVPCID of the current PCID, or a CR3 reload without bit 63.
      if (how === "invpcid1") must(cpu.invpcid(1, Number(PCID[as])));
      else if (how === "invpcid0") for (const p of pages) must(cpu.invpcid(0, Number(PCID[as]), pageVa(p)));
      else if (how === "defer") must(cpu.writeCr3(this.spaces[as].root | PCID[as]));
      else for (const p of pages) cpu.invlpg(pageVa(p));
    } else if (how === "defer") {
      this.stale[as] = true;
    } else if (how === "invpcid1") {
      must(cpu.invpcid(1, Number(PCID[as])));
    } else {
      for (const p of pages) must(cpu.invpcid(0, Number(PCID[as]), pageVa(p)));
    }
  }

  /** Every entry of every table on the walks of the 16 pages in both spaces (A/D included). */
  tables(): bigint[] {
    const out: bigint[] = [];
    for (const pt of this.spaces) {
      for (let i = 0; i < PAGES; i++) {
        for (let level = 4; level >= 1; level--) {
          const a = pt.lookup(pageVa(i), level);
          out.push(a === null ? -1n : this.m.phys.read64(a));
        }
      }
    }
    return out;
  }
}

function must(e: unknown): void {
  if (e !== null && e !== undefined) throw new Error(`unexpected exception ${JSON.stringify(e)}`);
}

function outcome(t: Translation): string {
  if (t.ok) return `ok 0x${t.paddr.toString(16)} ${t.pageSize}`;
  return t.exception.vector === "PF" ? `PF 0x${t.exception.errorCode.toString(16)}` : "GP";
}

const page = fc.integer({ min: 0, max: PAGES - 1 });
const as = fc.constantFrom<As>(0, 1);
const inv = fc.constantFrom<Inv>("invlpg", "invpcid0", "invpcid1", "defer");
const flags: fc.Arbitrary<Flags> = fc.record({ write: fc.boolean(), user: fc.boolean(), noExecute: fc.boolean(), accessed: fc.boolean(), dirty: fc.boolean() });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ t: fc.constant("access" as const), page, offset: fc.integer({ min: 0, max: 4095 }), kind: fc.constantFrom<AccessKind>("read", "write", "fetch"), cpl: fc.constantFrom<0 | 3>(0, 3) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("map" as const), as, page, frame: fc.integer({ min: 0, max: FRAMES - 1 }), flags, inv }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("unmap" as const), as, page, inv }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("protect" as const), as, page, flags, inv }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("zap" as const), as, page, inv }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("upper" as const), as, page, level: fc.constantFrom<2 | 3 | 4>(2, 3, 4),
      write: fc.boolean(), user: fc.boolean(), noExecute: fc.boolean(), inv,
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("switch" as const), as, noflush: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("reg" as const), which: fc.constantFrom<"wp" | "smap" | "smep" | "ac">("wp", "smap", "smep", "ac") }) },
);

/** Small arrays so that entries are evicted; all three PSC levels. */
const TLB_CONFIGS: Record<string, Record<string, string | number>> = {
  lru: { "l1d.entries": 8, "l1i.entries": 8, "stlb[0].entries": 16, "stlb[0].ways": 4, "psc.pde": 8, "psc.pdpte": 4, "psc.pml4e": 2 },
  plru: {
    "l1d.entries": 8, "l1d.ways": 2, "l1d.policy": "plru", "l1i.entries": 4, "l1i.ways": 4, "l1i.policy": "plru",
    "stlb[0].entries": 8, "stlb[0].ways": 8, "stlb[0].policy": "plru", "psc.pde": 2, "psc.pdpte": 1, "psc.pml4e": 1,
  },
  random: { "l1d.entries": 4, "l1d.policy": "random", "l1i.entries": 2, "l1i.ways": 2, "l1i.policy": "random", "stlb[0].entries": 0, "psc.pde": 8, "psc.pdpte": 4, "psc.pml4e": 2 },
  // Set-indexed PSCs (pscWays): a #PF's flush must find the entry in the set its address indexes.
  "set-indexed PSC": {
    "l1d.entries": 8, "l1i.entries": 8, "stlb[0].entries": 16, "stlb[0].ways": 4,
    "psc.pde": 8, "pscWays.pde": 2, "psc.pdpte": 4, "pscWays.pdpte": 2, "psc.pml4e": 2, "pscWays.pml4e": 1,
  },
};

describe("property: a TLB machine translates like a machine without TLBs when software invalidates (§4.10.4)", () => {
  for (const [name, overrides] of Object.entries(TLB_CONFIGS)) {
    it(`${name} arrays + PSCs: same outcome for every access over 2 PCID address spaces`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 200, size: "max" }), async (ops) => {
          const tlb = await World.create({ overrides });
          const ref = await World.create({ tlbs: false });
          ops.forEach((o, i) => {
            const a = tlb.apply(o);
            const b = ref.apply(o);
            if (a !== b) throw new Error(`op ${i} ${JSON.stringify(o)}: TLB machine ${a}, reference ${b}`);
          });
          expect(tlb.tables()).toEqual(ref.tables());
          // The reference really has no TLB; the TLB machine really used its TLBs and PSCs.
          expect(ref.m.counters(0)["tlb_fill"]).toBe(0n);
        }),
        { seed: SEED, numRuns: 200 },
      );
    });
  }

  it("the generator is not vacuous: L1, STLB and every PSC level hit, dirty re-walks, protection faults, page/PCID flushes and elided CR3 loads all occur", async () => {
    // Guard against a vacuous property: over the first runs' sequences, the TLB machine hits its
    // L1 and PSCs and walks after invalidations.
    const totals: Record<string, bigint> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 50, maxLength: 150, size: "max" }), async (ops) => {
        const tlb = await World.create({ overrides: TLB_CONFIGS.lru });
        for (const o of ops) tlb.apply(o);
        for (const [k, v] of Object.entries(tlb.m.counters(0))) totals[k] = (totals[k] ?? 0n) + v;
      }),
      { seed: SEED, numRuns: 40 },
    );
    for (const k of ["tlb_l1d_hit", "tlb_l1i_hit", "dtlb_load_misses.stlb_hit", "psc_hit_pde", "psc_hit_pdpte", "psc_hit_pml4e", "tlb_dirty_rewalk", "tlb_flush_page", "tlb_flush_pcid", "tlb_flush_elided", "fault_pf_prot"]) {
      expect(totals[k], k).toBeGreaterThan(0n);
    }
  });
});

describe("property: replay through Replayer + DemandMapper is the same with and without TLBs", () => {
  const record = fc.record({
    page: fc.integer({ min: 0, max: 47 }),
    offset: fc.integer({ min: 0, max: 4095 }),
    size: fc.constantFrom(1, 2, 4, 8),
    kind: fc.constantFrom<AccessKind>("read", "write", "fetch"),
    user: fc.boolean(),
  });
  /** 16 pages in each of 3 page tables, the last two under another PDPTE. */
  const recVa = (p: number) => 0x10_0000_0000n + BigInt(p & 15) * 0x1000n + BigInt(p >> 4) * 0x20_0000n + (p >= 32 ? 0x4000_0000n : 0n);

  async function replay(config: MachineConfig, recs: { page: number; offset: number; size: number; kind: AccessKind; user: boolean }[], pages: "4k" | "2m") {
    const m = await Machine.create({ ram: "64MiB", build: "debug", cpu: "custom", ...config });
    const mapper = new DemandMapper(m, { pages });
    const r = new Replayer(m, mapper.policy);
    recs.forEach((x, i) => r.batch.setAddress(i, recVa(x.page) + BigInt(x.offset), x.size, REC_KIND[x.kind] | (x.user ? REC_USER : 0), 0));
    const result = r.run(recs.length);
    const c = m.counters(0);
    const touched = [...new Set(recs.flatMap((x) => [recVa(x.page), (recVa(x.page) + BigInt(x.offset + x.size - 1)) & ~0xfffn]))];
    const tables = touched.map((v) => m.walk(v, { probe: true }).levels.map((l) => l.value));
    return {
      result, mapped: mapper.mapped, tables,
      counts: ["fault_pf", "ad_accessed_set", "ad_dirty_set", "access_load", "access_store", "access_fetch", "replay_straddle"].map((k) => c[k]),
      tlbUse: c["tlb_l1d_hit"] + c["tlb_l1i_hit"],
    };
  }

  for (const pages of ["4k", "2m"] as const) {
    it(`${pages} pages: completed, faults, pages mapped, A/D counts and final page tables agree`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 400, size: "max" }), async (recs) => {
          const a = await replay({ overrides: TLB_CONFIGS.lru }, recs, pages);
          const b = await replay({ tlbs: false }, recs, pages);
          expect(a.result).toEqual({ completed: recs.length, faults: b.result.faults });
          expect(b.result.completed).toBe(recs.length);
          expect(a.mapped).toEqual(b.mapped);
          expect(a.counts).toEqual(b.counts);
          expect(a.tables).toEqual(b.tables);
          expect(b.tlbUse).toBe(0n);
        }),
        { seed: SEED, numRuns: 60 },
      );
    });
  }
});
