/**
 * TLB coherence under nested paging: with the invalidations Intel SDM Vol. 3C §29.4.3 requires
 * after changes to guest paging structures (INVLPG in the guest, or INVVPID of the right type and
 * scope from the host) and to the EPT (INVEPT single-context or all-context), a machine with TLBs
 * and paging-structure caches translates exactly like one without (every access walks both
 * dimensions). Two guests run on one CPU with VPIDs 1 and 2, the same PCID and the same linear
 * addresses, each over its own EPT (the second with EPT A/D flags on); switching between them
 * reloads CR3 with the no-flush bit, so only the VPID tag keeps their entries apart. Guest leaves
 * may be global (CR4.PGE=1), so INVVPID type 3 (retaining globals) is used only where it is
 * enough: when the changed page's old entry was not global. A guest 2 MiB page over 4 KiB EPT
 * pages makes combined entries smaller than their guest page (§29.4.1). The EPT maps the guests'
 * tables with 4 KiB leaves whose rights change too ("tableperm", then INVEPT): the nested TLB
 * (guest-physical translations of guest table pages, §29.4.1 "guest-physical mappings", small
 * here so that entries are evicted) must never use a translation INVEPT invalidated.
 *
 * Every access must give the same outcome (the host-physical address and page size, the #PF
 * error code, or the VM exit's reason, qualification and guest-physical address), and the final
 * guest tables and EPT leaves (A/D flags included) must agree.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Machine } from "../../src/machine/Machine.js";
import { PageTableBuilder, RangeTableSource, makeLeaf } from "../../src/machine/pagetables.js";
import { EptBuilder, makeEptLeaf } from "../../src/machine/ept.js";
import type { AccessKind, MachineConfig, Translation } from "../../src/types.js";
import { CR4_PCIDE, PAGE_GLOBAL, PAGE_PRESENT, PAGE_RW, PAGE_USER, PAGE_ACCESSED } from "../../src/machine/pgtable.js";

const SEED = 20261207;
const NOFLUSH = 1n << 63n;
const PCID = 1n;
const PAGES = 8;             // 4 KiB guest pages 0..7 (two page tables), plus page 8: a guest 2 MiB page
const FRAMES = 8;            // guest-physical data frames
const HFRAMES = 16;          // host frames behind them
const BIG = 8;
const pageVa = (i: number) => (i === BIG ? 0x4000_0000n + 0x40_0000n : 0x4000_0000n + BigInt(i >> 2) * 0x20_0000n + BigInt(i & 3) * 0x1000n);
const frameGpa = (f: number) => 0x80_0000n + BigInt(f) * 0x1000n;
const hostPa = (h: number) => 0x100_0000n + BigInt(h) * 0x1000n;
const BIG_GPA = 0xa0_0000n;  // the guest 2 MiB page; the EPT maps its 512 pieces with 4 KiB leaves
const bigPieceHpa = (k: number, v: number) => 0x140_0000n + BigInt((k * 7 + v * 3) % 512) * 0x1000n;

type Vm = 0 | 1;
type GuestInv = "invlpg" | "invvpid0" | "invvpid1" | "invvpid2" | "invvpid3";
type EptPerm = "R" | "RW" | "RX" | "RWX" | "X" | "none";
type Op =
  | { t: "access"; page: number; offset: number; kind: AccessKind; cpl: 0 | 3 }
  | { t: "map"; vm: Vm; page: number; frame: number; write: boolean; user: boolean; noExecute: boolean; global: boolean; inv: GuestInv }
  | { t: "unmap"; vm: Vm; page: number; inv: GuestInv }
  | { t: "upper"; vm: Vm; page: number; write: boolean; user: boolean; inv: GuestInv }
  | { t: "ept"; vm: Vm; frame: number; host: number; perm: EptPerm; big: boolean; inv: "invept1" | "invept2" }
  | { t: "tableperm"; vm: Vm; page: number; level: 1 | 2 | 3 | 4; perm: "RW" | "R" | "none"; inv: "invept1" | "invept2" }
  | { t: "switch"; vm: Vm };

const PERM_FLAGS: Record<EptPerm, { read: boolean; write: boolean; execute: boolean }> = {
  R: { read: true, write: false, execute: false }, RW: { read: true, write: true, execute: false },
  RX: { read: true, write: false, execute: true }, RWX: { read: true, write: true, execute: true },
  X: { read: false, write: false, execute: true }, none: { read: false, write: false, execute: false },
};

class World {
  readonly m: Machine;
  private readonly guests: PageTableBuilder[];
  private readonly epts: EptBuilder[];
  private cur: Vm = 0;

  private constructor(m: Machine) {
    this.m = m;
    const eptSource = new RangeTableSource(m, { start: 0x40_0000n, end: 0x80_0000n });
    this.epts = [new EptBuilder(m, eptSource), new EptBuilder(m, eptSource, { accessedDirty: true })];
    this.guests = [
      new PageTableBuilder(m, new RangeTableSource(m, { start: 0x10_0000n, end: 0x28_0000n })),
      new PageTableBuilder(m, new RangeTableSource(m, { start: 0x28_0000n, end: 0x40_0000n })),
    ];
    this.epts.forEach((ept, v) => {
      // The guests' tables (the first 64 pages of each table area), identity, 4 KiB leaves.
      for (const start of [0x10_0000n, 0x28_0000n]) ept.map(start, start, {}, "4K", 0x4_0000n);
      for (let f = 0; f < FRAMES; f++) ept.map(frameGpa(f), hostPa((f + 5 * v) % HFRAMES));
      for (let k = 0; k < 512; k++) ept.map(BIG_GPA + BigInt(k) * 0x1000n, bigPieceHpa(k, v));
    });
    this.guests.forEach((pt, v) => {
      for (let i = 0; i < PAGES; i++) pt.map(pageVa(i), frameGpa((i + 3 * v) % FRAMES), { write: true, user: true, global: (i & 1) === 1 });
      pt.map(pageVa(BIG), BIG_GPA, { write: true, user: true }, "2M");
    });
    const cpu = m.cpu(0);
    must(cpu.writeCr3(this.guests[0].root));
    must(cpu.writeCr4(cpu.registers.cr4 | CR4_PCIDE));
    this.enter(0);
  }

  static async create(config: MachineConfig): Promise<World> {
    return new World(await Machine.create({ ram: "32MiB", build: "debug", cpu: "custom", ...config }));
  }

  private enter(vm: Vm): void {
    const cpu = this.m.cpu(0);
    cpu.vmx.leave();
    must(cpu.writeCr3(this.guests[vm].root | PCID | NOFLUSH));
    must(cpu.vmx.enter({ eptp: this.epts[vm].eptp, vpid: vm + 1 }));
    this.cur = vm;
  }

  apply(op: Op): string | null {
    const cpu = this.m.cpu(0);
    switch (op.t) {
      case "access":
        return outcome(cpu.access(pageVa(op.page) + BigInt(op.offset), { kind: op.kind, cpl: op.cpl }));
      case "switch":
        this.enter(op.vm);
        return null;
      case "map": {
        const old = this.pte(op.vm, op.page);
        this.guests[op.vm].setEntry(pageVa(op.page), 1, makeLeaf(frameGpa(op.frame), 1, { write: op.write, user: op.user, noExecute: op.noExecute, global: op.global }));
        this.invalidateGuest(op.vm, [op.page], op.inv, old);
        return null;
      }
      case "unmap": {
        const old = this.pte(op.vm, op.page);
        this.m.phys.write64(this.guests[op.vm].lookup(pageVa(op.page), 1)!, 0n);
        this.invalidateGuest(op.vm, [op.page], op.inv, old);
        return null;
      }
      case "upper": {
        // The PDE over pages 4k..4k+3: what the PSCs cache (combined PSC entries hold its rights).
        const pde = this.guests[op.vm].lookup(pageVa(op.page), 2)!;
        const v = this.m.phys.read64(pde);
        this.m.phys.write64(pde, (v & (0x000f_ffff_ffff_f000n | PAGE_ACCESSED)) | PAGE_PRESENT | (op.write ? PAGE_RW : 0n) | (op.user ? PAGE_USER : 0n));
        const mates = [0, 1, 2, 3].map((k) => (op.page & ~3) | k);
        // INVLPG and INVVPID type 0 drop every PSC entry of the context; type 3 keeps global TLB entries under the PDE.
        const anyGlobal = mates.some((p) => (this.pte(op.vm, p) & PAGE_GLOBAL) !== 0n);
        this.invalidateGuest(op.vm, mates, op.inv, anyGlobal ? PAGE_GLOBAL : 0n);
        return null;
      }
      case "ept": {
        const flags = { ...PERM_FLAGS[op.perm] };
        const gpa = op.big ? BIG_GPA + BigInt(op.frame) * 0x1000n : frameGpa(op.frame);
        const hpa = op.big ? bigPieceHpa(op.frame + op.host, op.vm) : hostPa(op.host);
        this.epts[op.vm].setEntry(gpa, 1, op.perm === "none" ? 0n : makeEptLeaf(hpa, 1, flags));
        must(cpu.vmx.invept(op.inv === "invept1" ? 1 : 2, this.epts[op.vm].eptp));
        return null;
      }
      case "tableperm": {
        // The guest table holding the page's entry at `level`: its EPT leaf's rights (identity).
        const table = this.guests[op.vm].lookup(pageVa(op.page), op.level)! & ~0xfffn;
        this.epts[op.vm].setEntry(table, 1, op.perm === "none" ? 0n : makeEptLeaf(table, 1, { ...PERM_FLAGS[op.perm], execute: true }));
        must(cpu.vmx.invept(op.inv === "invept1" ? 1 : 2, this.epts[op.vm].eptp));
        return null;
      }
    }
  }

  private pte(vm: Vm, page: number): bigint {
    return this.m.phys.read64(this.guests[vm].lookup(pageVa(page), 1)!);
  }

  /** The invalidation §29.4.3 requires after changing `pages` of guest `vm` (whose old entry was `old`). */
  private invalidateGuest(vm: Vm, pages: number[], how: GuestInv, old: bigint): void {
    const cpu = this.m.cpu(0);
    const vpid = vm + 1;
    if (how === "invlpg" && vm === this.cur) for (const p of pages) cpu.invlpg(pageVa(p));
    else if (how === "invvpid1") must(cpu.vmx.invvpid(1, vpid));
    else if (how === "invvpid2") must(cpu.vmx.invvpid(2, 0));
    else if (how === "invvpid3") must(cpu.vmx.invvpid((old & PAGE_GLOBAL) !== 0n ? 1 : 3, vpid));
    else for (const p of pages) must(cpu.vmx.invvpid(0, vpid, pageVa(p)));
  }

  /** Guest table entries on every page's walk in both guests, and every EPT leaf for the data frames. */
  tables(): bigint[] {
    const out: bigint[] = [];
    for (const pt of this.guests) {
      for (let i = 0; i <= PAGES; i++) {
        for (let level = 4; level >= (i === BIG ? 2 : 1); level--) out.push(this.m.phys.read64(pt.lookup(pageVa(i), level)!));
      }
    }
    for (const ept of this.epts) {
      for (let f = 0; f < FRAMES; f++) out.push(this.m.phys.read64(ept.lookup(frameGpa(f), 1)!));
      for (let k = 0; k < 8; k++) out.push(this.m.phys.read64(ept.lookup(BIG_GPA + BigInt(k) * 0x1000n, 1)!));
      out.push(this.m.phys.read64(ept.lookup(0n, 2)!));
    }
    return out;
  }
}

function must(e: unknown): void {
  if (e !== null && e !== undefined) throw new Error(`unexpected failure ${JSON.stringify(e)}`);
}

function outcome(t: Translation): string {
  if (t.ok) return `ok 0x${t.paddr.toString(16)} ${t.pageSize}`;
  if (t.exception.vector === "PF") return `PF 0x${t.exception.errorCode.toString(16)}`;
  if (t.exception.vector === "VMEXIT") {
    const x = t.exception.exit;
    return `exit ${x.reasonNumber} 0x${x.qualification.toString(16)} 0x${x.guestPhysical.toString(16)}`;
  }
  return "GP";
}

const vm = fc.constantFrom<Vm>(0, 1);
const page = fc.integer({ min: 0, max: PAGES - 1 });
const ginv = fc.constantFrom<GuestInv>("invlpg", "invvpid0", "invvpid1", "invvpid2", "invvpid3");
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ t: fc.constant("access" as const), page: fc.integer({ min: 0, max: PAGES }), offset: fc.integer({ min: 0, max: 0x3fff }), kind: fc.constantFrom<AccessKind>("read", "write", "fetch"), cpl: fc.constantFrom<0 | 3>(0, 3) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("map" as const), vm, page, frame: fc.integer({ min: 0, max: FRAMES - 1 }), write: fc.boolean(), user: fc.boolean(), noExecute: fc.boolean(), global: fc.boolean(), inv: ginv }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unmap" as const), vm, page, inv: ginv }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("upper" as const), vm, page, write: fc.boolean(), user: fc.boolean(), inv: ginv }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("ept" as const), vm, frame: fc.integer({ min: 0, max: FRAMES - 1 }), host: fc.integer({ min: 0, max: HFRAMES - 1 }),
      perm: fc.constantFrom<EptPerm>("R", "RW", "RX", "RWX", "X", "none"), big: fc.boolean(), inv: fc.constantFrom<"invept1" | "invept2">("invept1", "invept2"),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("switch" as const), vm }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("tableperm" as const), vm, page, level: fc.constantFrom<1 | 2 | 3 | 4>(1, 2, 3, 4),
      perm: fc.constantFrom<"RW" | "R" | "none">("RW", "RW", "R", "none"), inv: fc.constantFrom<"invept1" | "invept2">("invept1", "invept2"),
    }),
  },
);

/** Small arrays so that entries are evicted; every PSC level. */
const OVERRIDES = { "l1d.entries": 8, "l1i.entries": 8, "stlb[0].entries": 16, "stlb[0].ways": 4, "psc.pde": 4, "psc.pdpte": 2, "psc.pml4e": 2, "nestedTlb.entries": 4, "nestedTlb.ways": 2 };

describe("property: under nested paging a TLB machine translates like one without TLBs when software invalidates (§29.4.3)", () => {
  it("two VPIDs with the same PCID and addresses, guest and EPT changes (data and table pages) with INVLPG / INVVPID 0-3 / INVEPT 1-2: same outcomes, same tables", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 150, size: "max" }), async (ops) => {
        const tlb = await World.create({ overrides: OVERRIDES });
        const ref = await World.create({ tlbs: false });
        ops.forEach((o, i) => {
          const a = tlb.apply(o);
          const b = ref.apply(o);
          if (a !== b) throw new Error(`op ${i} ${JSON.stringify(o)}: TLB machine ${a}, reference ${b}`);
        });
        expect(tlb.tables()).toEqual(ref.tables());
        expect(ref.m.counters(0)["tlb_fill"]).toBe(0n);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it("the generator is not vacuous: L1 and PSC hits, EPT violations and misconfiguration-free exits, guest #PFs and every invalidation occur", async () => {
    const totals: Record<string, bigint> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 60, maxLength: 150, size: "max" }), async (ops) => {
        const w = await World.create({ overrides: OVERRIDES });
        for (const o of ops) w.apply(o);
        for (const [k, v] of Object.entries(w.m.counters(0))) totals[k] = (totals[k] ?? 0n) + v;
      }),
      { seed: SEED, numRuns: 20 },
    );
    for (const k of ["tlb_l1d_hit", "tlb_l1i_hit", "psc_hit_pde", "ept_violation", "fault_pf", "tlb_flush_invept", "tlb_flush_invvpid", "tlb_flush_page", "ept_ad_set", "ept_tlb_hit", "ept_tlb_miss"]) {
      expect(totals[k], k).toBeGreaterThan(0n);
    }
  });
});
