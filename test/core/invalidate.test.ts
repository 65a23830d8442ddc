/**
 * Invalidation of TLBs and paging-structure caches (assembly/mmu/invalidate.ts), one test per
 * rule of Intel SDM Vol. 3A §4.10.4.1: MOV to CR3 (PCIDE=0 and 1, bit 63), MOV to CR4 (PGE,
 * PCIDE, SMEP), INVLPG, INVPCID types 0–3 and their #GP conditions, the #PF rule, and Linux's
 * shootdown (flush_tlb_mm_range / tlb_single_page_flush_ceiling) over two CPUs.
 *
 * "hit" means the access needed no walk (walk_started unchanged), "walk" that it walked; every
 * state is checked once per page, since looking fills the TLBs again.
 */
import { describe, it, expect } from "vitest";
import { machineWithTables } from "../helpers/machine.js";
import { PageTableBuilder } from "../../src/machine/pagetables.js";
import type { Machine, Cpu } from "../../src/machine/Machine.js";
import type { MachineConfig, Translation } from "../../src/types.js";
import { CR4_PCIDE, CR4_PGE, CR4_SMEP, CR4_SMAP } from "../../src/machine/pgtable.js";

const VA0 = 0x4000_0000n;
const PA0 = 0x80_0000n;
const NOFLUSH = 1n << 63n;
const GP = { vector: "GP", vectorNumber: 13, errorCode: 0 };
const NONCANONICAL = 0x8000_0000_0000n;
const N = 8;                 // pages 0..7 in both address spaces; page 4 is global (same frame in both)
const G = 4;

const va = (i: number) => VA0 + BigInt(i) * 0x1000n;
/** Frame of page i in address space A (as 0) or B (as 1). */
const pa = (i: number, as: 0 | 1 = 0) => PA0 + BigInt(i === G ? i : i + 16 * as) * 0x1000n;

type Env = { m: Machine; cpu: Cpu; A: PageTableBuilder; B: PageTableBuilder };

/** Two address spaces A and B over their own table areas, pages 0..7 mapped in both; CR3 = A. */
async function spaces(overrides: Record<string, string | number> = {}, config: MachineConfig = {}, pages = N): Promise<Env> {
  const { m, pt: A } = await machineWithTables({ cpu: "custom", overrides, ...config });
  const B = new PageTableBuilder(m, { start: 0x40_0000n, end: 0x80_0000n });
  for (const [as, pt] of [A, B].entries()) {
    for (let i = 0; i < pages; i++) pt.map(va(i), pa(i, as as 0 | 1), { write: true, user: true, global: i === G });
  }
  for (let c = 0; c < m.config.cpus; c++) expect(m.cpu(c).writeCr3(A.root)).toBeNull();
  return { m, cpu: m.cpu(0), A, B };
}

/** CR4.PCIDE=1 and CR3 = A with PCID 1. */
function pcids(e: Env, cpu = 0): void {
  const c = e.m.cpu(cpu);
  expect(c.writeCr4(c.registers.cr4 | CR4_PCIDE)).toBeNull();
  expect(c.writeCr3(e.A.root | 1n)).toBeNull();
}

function cr3(e: Env, v: bigint, cpu = 0): void {
  expect(e.m.cpu(cpu).writeCr3(v)).toBeNull();
}

/** Access page i (or address) and report "hit" or "walk", with the physical address when asked. */
function look(e: Env, page: number | bigint, cpu = 0): string {
  const v = typeof page === "number" ? va(page) : page;
  const before = e.m.counters(cpu)["walk_started"];
  const t = e.m.cpu(cpu).access(v);
  expect(t.ok).toBe(true);
  return e.m.counters(cpu)["walk_started"] === before ? "hit" : "walk";
}

/** Like look(), plus the physical address. */
function lookPa(e: Env, page: number): string {
  const before = e.m.counters(0)["walk_started"];
  const t = e.cpu.access(va(page));
  const how = e.m.counters(0)["walk_started"] === before ? "hit" : "walk";
  return t.ok ? `${how} 0x${t.paddr.toString(16)}` : `${how} fault`;
}

function looks(e: Env, pages: number[], cpu = 0): string[] {
  return pages.map((p) => look(e, p, cpu));
}

/** The #PF error code of a translation ("ok" / "GP" otherwise). */
function pfCode(t: Translation): number | string {
  if (t.ok) return "ok";
  return t.exception.vector === "PF" ? t.exception.errorCode : t.exception.vector;
}

/** Counter deltas (changed only) of `cpu` around f. */
function counted<T>(e: Env, f: () => T, cpu = 0): [T, Record<string, bigint>] {
  const a = e.m.counters(cpu);
  const r = f();
  const b = e.m.counters(cpu);
  return [r, Object.fromEntries(Object.keys(b).filter((k) => b[k] !== a[k]).map((k) => [k, b[k] - a[k]]))];
}

/** Walk memory references of an access to page i: 4 = no PSC help, 1 = PDE-cache hit. */
function refs(e: Env, page: number | bigint): bigint {
  const v = typeof page === "number" ? va(page) : page;
  const [t, d] = counted(e, () => e.cpu.access(v));
  expect(t.ok).toBe(true);
  return d["walk_mem_ref"] ?? 0n;
}

describe("MOV to CR3 (§4.10.4.1)", () => {
  it("with CR4.PCIDE=0 it invalidates every non-global entry and the PSCs, but keeps global entries (G=1, CR4.PGE=1)", async () => {
    const e = await spaces({ "psc.pde": 4 });
    expect(looks(e, [0, 1, G])).toEqual(["walk", "walk", "walk"]);
    expect(looks(e, [0, 1, G])).toEqual(["hit", "hit", "hit"]);
    const [, d] = counted(e, () => cr3(e, e.A.root));
    expect(d).toEqual({ "tlb_flush_pcid": 1n });
    expect(looks(e, [0, 1, G])).toEqual(["walk", "walk", "hit"]);
    // The PDE cache filled by those walks was emptied too: page 2 (same PDE, never accessed) after another load walks 4 levels.
    cr3(e, e.A.root);
    expect(refs(e, 2)).toBe(4n);
    expect(refs(e, 3)).toBe(1n);
  });

  it("a G=1 leaf is not global while CR4.PGE=0, so a CR3 load invalidates it (§4.10.2.4)", async () => {
    const e = await spaces();
    expect(e.cpu.writeCr4(e.cpu.registers.cr4 & ~CR4_PGE)).toBeNull();
    look(e, G);
    cr3(e, e.A.root);
    expect(look(e, G)).toBe("walk");
  });

  it("with CR4.PCIDE=1 entries are tagged by PCID: CR3 loads with bit 63 set keep both PCIDs' entries (tlb_flush_elided)", async () => {
    const e = await spaces();
    pcids(e);
    expect(lookPa(e, 0)).toBe(`walk 0x${pa(0).toString(16)}`);
    const [, d] = counted(e, () => cr3(e, e.B.root | 2n | NOFLUSH));
    expect(d).toEqual({ "tlb_flush_elided": 1n });
    expect(e.cpu.registers.cr3).toBe(e.B.root | 2n);                 // bit 63 is not stored
    expect(lookPa(e, 0)).toBe(`walk 0x${pa(0, 1).toString(16)}`);  // PCID 2 had no entry
    cr3(e, e.A.root | 1n | NOFLUSH);
    expect(lookPa(e, 0)).toBe(`hit 0x${pa(0).toString(16)}`);
    cr3(e, e.B.root | 2n | NOFLUSH);
    expect(lookPa(e, 0)).toBe(`hit 0x${pa(0, 1).toString(16)}`);
    expect(e.m.counters(0)["tlb_flush_elided"]).toBe(3n);
  });

  it("with CR4.PCIDE=1 and bit 63 clear it flushes only the new PCID's non-global entries; other PCIDs and globals stay", async () => {
    const e = await spaces();
    pcids(e);
    look(e, 0); look(e, G);
    cr3(e, e.B.root | 2n | NOFLUSH);
    look(e, 0);
    const [, d] = counted(e, () => cr3(e, e.A.root | 1n));
    expect(d).toEqual({ "tlb_flush_pcid": 1n });
    expect(looks(e, [0, G])).toEqual(["walk", "hit"]);
    cr3(e, e.B.root | 2n | NOFLUSH);
    expect(lookPa(e, 0)).toBe(`hit 0x${pa(0, 1).toString(16)}`);
  });

  it("with CR4.PCIDE=1 and bit 63 clear it flushes the new PCID's PSC entries, not another PCID's", async () => {
    const e = await spaces({ "psc.pde": 4 });
    pcids(e);
    look(e, 0);                               // PCID 1: PDE cached
    cr3(e, e.A.root | 2n | NOFLUSH);
    look(e, 1);                               // PCID 2 over the same tables: PDE cached
    cr3(e, e.A.root | 1n);                    // flushes PCID 1
    expect(refs(e, 2)).toBe(4n);
    cr3(e, e.A.root | 2n | NOFLUSH);
    expect(refs(e, 3)).toBe(1n);
  });

  it("a refused CR3 load (#GP: bit 63 with PCIDE=0 is reserved) flushes nothing", async () => {
    const e = await spaces();
    look(e, 0);
    const [r, d] = counted(e, () => e.cpu.writeCr3(e.A.root | NOFLUSH));
    expect(r).toEqual(GP);
    expect(d).toEqual({ "cr_write_exception": 1n });
    expect(look(e, 0)).toBe("hit");
  });
});

describe("MOV to CR4 (§4.10.4.1)", () => {
  it("changing PGE (1→0 and 0→1) flushes everything, global entries and every PCID (tlb_flush_full)", async () => {
    const e = await spaces();
    pcids(e);
    look(e, 0); look(e, G);
    cr3(e, e.B.root | 2n | NOFLUSH);
    look(e, 0);
    const [, d] = counted(e, () => expect(e.cpu.writeCr4(e.cpu.registers.cr4 & ~CR4_PGE)).toBeNull());
    expect(d).toEqual({ "tlb_flush_full": 1n });
    expect(looks(e, [0, G])).toEqual(["walk", "walk"]);
    cr3(e, e.A.root | 1n | NOFLUSH);
    expect(look(e, 0)).toBe("walk");
    // 0→1: the entries just made (not global, PGE was 0) are dropped too.
    expect(e.cpu.writeCr4(e.cpu.registers.cr4 | CR4_PGE)).toBeNull();
    expect(looks(e, [0, G])).toEqual(["walk", "walk"]);
  });

  it("clearing PCIDE (1→0) flushes everything, global entries and every PCID", async () => {
    const e = await spaces();
    pcids(e);
    look(e, 0); look(e, G);
    cr3(e, e.A.root | 2n | NOFLUSH);
    look(e, 1);
    const [, d] = counted(e, () => expect(e.cpu.writeCr4(e.cpu.registers.cr4 & ~CR4_PCIDE)).toBeNull());
    expect(d).toEqual({ "tlb_flush_full": 1n });
    expect(looks(e, [0, 1, G])).toEqual(["walk", "walk", "walk"]);
  });

  it("setting PCIDE (0→1) invalidates nothing: PCID-0 entries stay usable under CR3 PCID 0", async () => {
    const e = await spaces();
    look(e, 0);
    const [, d] = counted(e, () => expect(e.cpu.writeCr4(e.cpu.registers.cr4 | CR4_PCIDE)).toBeNull());
    expect(d).toEqual({});
    expect(look(e, 0)).toBe("hit");
  });

  it("setting SMEP (0→1) flushes the current PCID's entries, not another PCID's; clearing SMEP or setting SMAP flushes nothing", async () => {
    const e = await spaces();
    pcids(e);
    look(e, 0);
    cr3(e, e.A.root | 2n | NOFLUSH);
    look(e, 0); look(e, 1);
    const [, d] = counted(e, () => expect(e.cpu.writeCr4(e.cpu.registers.cr4 | CR4_SMEP)).toBeNull());
    expect(d).toEqual({ "tlb_flush_pcid": 1n });
    expect(looks(e, [0, 1])).toEqual(["walk", "walk"]);
    cr3(e, e.A.root | 1n | NOFLUSH);
    expect(look(e, 0)).toBe("hit");
    e.cpu.writeRflags(e.cpu.registers.rflags | (1n << 18n));   // AC=1: SMAP allows the supervisor reads below
    const [, d2] = counted(e, () => {
      expect(e.cpu.writeCr4(e.cpu.registers.cr4 & ~CR4_SMEP)).toBeNull();
      expect(e.cpu.writeCr4(e.cpu.registers.cr4 | CR4_SMAP)).toBeNull();
    });
    expect(d2).toEqual({});
    expect(look(e, 0)).toBe("hit");
  });

  it("a refused CR4 write (#GP) flushes nothing", async () => {
    const e = await spaces();
    look(e, 0);
    // Setting PCIDE while CR3[11:0] ≠ 0 is #GP; so is a reserved bit (PGE toggled in the same value).
    cr3(e, e.A.root | 0x8n);
    look(e, 0);
    expect(e.cpu.writeCr4((e.cpu.registers.cr4 | CR4_PCIDE) ^ CR4_PGE)).toEqual(GP);
    expect(look(e, 0)).toBe("hit");
  });
});

describe("INVLPG (§4.10.4.1)", () => {
  it("drops the page's entry for the current PCID only; other pages and other PCIDs keep theirs (tlb_flush_page)", async () => {
    const e = await spaces();
    pcids(e);
    look(e, 0); look(e, 1);
    cr3(e, e.B.root | 2n | NOFLUSH);
    look(e, 0); look(e, 1);
    const [, d] = counted(e, () => e.cpu.invlpg(va(0) + 0x123n));
    expect(d).toEqual({ "tlb_flush_page": 1n });
    expect(looks(e, [0, 1])).toEqual(["walk", "hit"]);
    cr3(e, e.A.root | 1n | NOFLUSH);
    expect(lookPa(e, 0)).toBe(`hit 0x${pa(0).toString(16)}`);
  });

  it("drops a global entry for the page whatever PCID filled it", async () => {
    const e = await spaces();
    pcids(e);
    look(e, G);
    cr3(e, e.B.root | 2n | NOFLUSH);
    expect(look(e, G)).toBe("hit");
    e.cpu.invlpg(va(G));
    expect(look(e, G)).toBe("walk");
  });

  it("drops every PSC entry of the current PCID whatever the address, and no other PCID's", async () => {
    const e = await spaces({ "psc.pde": 4 });
    pcids(e);
    look(e, 0);
    cr3(e, e.A.root | 2n | NOFLUSH);
    look(e, 1);
    e.cpu.invlpg(0x7000_0000_0000n);          // an unrelated address
    expect(refs(e, 2)).toBe(4n);
    cr3(e, e.A.root | 1n | NOFLUSH);
    expect(refs(e, 3)).toBe(1n);
  });

  it("of a 2 MiB page at any offset drops the 2M entry and its 4K splinters (§4.10.4.2)", async () => {
    const e = await spaces();
    e.A.map(0x4040_0000n, 0xa0_0000n, { write: true }, "2M");
    look(e, 0x4040_0000n);
    look(e, 0x4045_0000n);                     // 4K splinter in L1 from the STLB's 2M entry
    e.cpu.invlpg(0x405f_f000n);
    // Both 4K splinters and the 2M entry are gone: the first access walks (refilling the STLB's 2M
    // entry), the second misses L1 and hits that refilled STLB entry.
    const [, d1] = counted(e, () => e.cpu.access(0x4045_0000n));
    expect(d1["walk_started"]).toBe(1n);
    const [, d2] = counted(e, () => e.cpu.access(0x4040_0000n));
    expect([d2["tlb_l1d_hit"], d2["dtlb_load_misses.stlb_hit"]]).toEqual([undefined, 1n]);
  });

  it("is a NOP for a non-canonical address: nothing dropped (not even PSC entries), nothing counted", async () => {
    const e = await spaces({ "psc.pde": 4 });
    look(e, 0);
    const [, d] = counted(e, () => e.cpu.invlpg(NONCANONICAL | va(0)));
    expect(d).toEqual({});
    expect(refs(e, 1)).toBe(1n);
    expect(look(e, 0)).toBe("hit");
  });
});

describe("INVPCID (§4.10.4.1; Vol. 2A INVPCID)", () => {
  /** PCIDE=1; page 0, 1 and the global page cached in PCID 1 (A) and page 0, 1 in PCID 2 (B); current PCID 2. */
  async function filled(overrides: Record<string, number> = {}): Promise<Env> {
    const e = await spaces(overrides);
    pcids(e);
    look(e, 0); look(e, 1); look(e, G);
    cr3(e, e.B.root | 2n | NOFLUSH);
    look(e, 0); look(e, 1);
    return e;
  }
  /** Cached state of pages 0, 1 and G in PCID 2 (current), then 0, 1 in PCID 1. */
  function state(e: Env): string[] {
    const two = looks(e, [0, 1, G]);
    cr3(e, e.A.root | 1n | NOFLUSH);
    const one = looks(e, [0, 1]);
    return [...two.map((s) => `2:${s}`), ...one.map((s) => `1:${s}`)];
  }

  it("type 0 (individual address) drops that PCID's non-global entry for the address, even if not current", async () => {
    const e = await filled();
    const [r, d] = counted(e, () => e.cpu.invpcid(0, 1, va(0)));
    expect(r).toBeNull();
    expect(d).toEqual({ "tlb_flush_page": 1n });
    expect(state(e)).toEqual(["2:hit", "2:hit", "2:hit", "1:walk", "1:hit"]);
  });

  it("type 0 keeps a global entry for the address", async () => {
    const e = await filled();
    expect(e.cpu.invpcid(0, 2, va(G))).toBeNull();
    expect(look(e, G)).toBe("hit");
  });

  it("type 0 drops the PCID's PSC entries that would translate the address", async () => {
    const e = await filled({ "psc.pde": 4 });
    cr3(e, e.A.root | 1n | NOFLUSH);
    expect(e.cpu.invpcid(0, 1, va(0))).toBeNull();
    expect(refs(e, 2)).toBe(4n);
  });

  it("type 1 (single context) drops all non-global entries of the PCID; globals and other PCIDs stay (tlb_flush_pcid)", async () => {
    const e = await filled();
    const [r, d] = counted(e, () => e.cpu.invpcid(1, 1));
    expect(r).toBeNull();
    expect(d).toEqual({ "tlb_flush_pcid": 1n });
    expect(state(e)).toEqual(["2:hit", "2:hit", "2:hit", "1:walk", "1:walk"]);
  });

  it("type 1 drops the PCID's PSC entries", async () => {
    const e = await filled({ "psc.pde": 4 });
    expect(e.cpu.invpcid(1, 2)).toBeNull();
    expect(refs(e, 2)).toBe(4n);
  });

  it("type 2 (all contexts, with globals) drops everything (tlb_flush_full)", async () => {
    const e = await filled();
    const [r, d] = counted(e, () => e.cpu.invpcid(2, 0));
    expect(r).toBeNull();
    expect(d).toEqual({ "tlb_flush_full": 1n });
    expect(state(e)).toEqual(["2:walk", "2:walk", "2:walk", "1:walk", "1:walk"]);
  });

  it("type 3 (all contexts, without globals) drops every non-global entry of every PCID and keeps globals", async () => {
    const e = await filled();
    const [r, d] = counted(e, () => e.cpu.invpcid(3, 0));
    expect(r).toBeNull();
    expect(d).toEqual({ "tlb_flush_pcid": 1n });
    expect(state(e)).toEqual(["2:walk", "2:walk", "2:hit", "1:walk", "1:walk"]);
  });

  it("#GP(0) for type > 3, PCID > 0xfff, type 0 with a non-canonical address; nothing is invalidated", async () => {
    const e = await filled();
    const [r, d] = counted(e, () => [
      e.cpu.invpcid(4 as 0, 2, va(0)),
      e.cpu.invpcid(0, 0x1000, va(0)),
      e.cpu.invpcid(2, 0x1002),
      e.cpu.invpcid(0, 2, NONCANONICAL | va(0)),
    ]);
    expect(r).toEqual([GP, GP, GP, GP]);
    expect(d).toEqual({ "cr_write_exception": 4n });
    expect(state(e)).toEqual(["2:hit", "2:hit", "2:hit", "1:hit", "1:hit"]);
  });

  it("with CR4.PCIDE=0, #GP(0) for types 0 and 1 with PCID ≠ 0; PCID 0, and types 2 and 3 with any PCID, are accepted", async () => {
    const e = await spaces();
    look(e, 0); look(e, 1); look(e, G);
    expect([e.cpu.invpcid(0, 1, va(0)), e.cpu.invpcid(1, 1)]).toEqual([GP, GP]);
    expect(looks(e, [0, 1])).toEqual(["hit", "hit"]);
    expect(e.cpu.invpcid(0, 0, va(0))).toBeNull();
    expect(looks(e, [0, 1])).toEqual(["walk", "hit"]);
    expect(e.cpu.invpcid(3, 5)).toBeNull();
    expect(looks(e, [0, 1, G])).toEqual(["walk", "walk", "hit"]);
    expect(e.cpu.invpcid(2, 7)).toBeNull();
    expect(look(e, G)).toBe("walk");
  });
});

describe("#PF invalidates the faulting address's entries (§4.10.4.1, last paragraph)", () => {
  it("a stale read-only entry after a permission upgrade gives a spurious 0x7 #PF (§4.10.4.3) that drops it; the retry walks and succeeds", async () => {
    const e = await spaces();
    e.A.map(va(9), pa(9), { user: true, dirty: true });
    expect(e.cpu.access(va(9), { cpl: 3 }).ok).toBe(true);
    e.A.map(va(9), pa(9), { user: true, write: true, dirty: true });   // upgrade, no INVLPG (allowed: §4.10.4.3)
    const [t, d] = counted(e, () => e.cpu.access(va(9), { kind: "write", cpl: 3 }));
    expect(pfCode(t)).toBe(0x7);
    expect(d["tlb_fault"]).toBe(1n);
    const [t2, d2] = counted(e, () => e.cpu.access(va(9), { kind: "write", cpl: 3 }));
    expect(t2.ok).toBe(true);
    expect(d2["walk_started"]).toBe(1n);
  });

  it("a walk that faults through a stale PDE-cache entry drops the PSC entries for that address; other addresses' TLB entries stay", async () => {
    const e = await spaces({ "psc.pde": 4 });
    look(e, 0);                                // PDE of VA0's 2 MiB region cached → old page table
    // Point the PDE at a new page table (no invalidation) in which page 5 is present; it is not present in the old one.
    const pde = e.A.lookup(va(0), 2)!;
    const newPt = 0xf0_0000n;
    e.m.phys.frame(newPt >> 12n)!.fill(0);
    e.m.phys.write64(newPt + 5n * 8n, pa(5) | 0x67n);
    const oldPte5 = e.A.lookup(va(5), 1)!;
    e.m.phys.write64(oldPte5, 0n);
    e.m.phys.write64(pde, (e.m.phys.read64(pde) & 0xfffn) | newPt);
    const [t, d] = counted(e, () => e.cpu.access(va(5)));
    expect(pfCode(t)).toBe(0);
    expect(d).toMatchObject({ "psc_hit_pde": 1n, "walk_mem_ref": 1n, "fault_pf_not_present": 1n });
    const [t2, d2] = counted(e, () => e.cpu.access(va(5)));
    expect(t2.ok && t2.paddr).toBe(pa(5));
    expect(d2).toMatchObject({ "psc_miss": 1n, "walk_mem_ref": 4n });
    expect(look(e, 0)).toBe("hit");
  });
});

describe("#PF counting (counters.ts: tlb_flush_page)", () => {
  // Regression: the #PF invalidation (§4.10.4.1) once went uncounted although counters.ts
  // documents tlb_flush_page as covering INVLPG, INVPCID type 0 and #PF.
  it("a #PF from a walk counts one single-address invalidation (tlb_flush_page)", async () => {
    const e = await spaces();
    const [t, d] = counted(e, () => e.cpu.access(va(N)));
    expect(pfCode(t)).toBe(0);
    expect(d["tlb_flush_page"]).toBe(1n);
  });
});

describe("shootdown (Linux flush_tlb_mm_range) over 2 CPUs", () => {
  async function two(): Promise<Env> {
    const e = await spaces({}, { cpus: 2 }, 40);
    for (const c of [0, 1]) for (let i = 0; i < 40; i++) look(e, i, c);
    return e;
  }

  it("each CPU in the set INVLPGs the range; one IPI per target (tlb_shootdown_ipi), latency.ipi charged to target and initiator", async () => {
    const e = await two();
    e.m.setLatency({ ipi: 1234 });
    const before = [e.m.counters(0), e.m.counters(1)];
    expect(e.m.shootdown({ cpus: [0, 1], vaddr: va(2), pages: 3, initiator: 0 })).toBe(1);
    const delta = [0, 1].map((c) => {
      const a = e.m.counters(c);
      return Object.fromEntries(Object.keys(a).filter((k) => a[k] !== before[c][k]).map((k) => [k, a[k] - before[c][k]]));
    });
    expect(delta[0]).toEqual({ "tlb_flush_page": 3n, "cycles": 1234n, "cycles_translation": 1234n });
    expect(delta[1]).toEqual({ "tlb_flush_page": 3n, "tlb_shootdown_ipi": 1n, "cycles": 1234n, "cycles_translation": 1234n });
    for (const c of [0, 1]) expect(looks(e, [1, 2, 3, 4, 5], c)).toEqual(["hit", "walk", "walk", "walk", "hit"]);
  });

  it("a target set without the initiator: the initiator is charged but keeps its entries", async () => {
    const e = await two();
    const [n, d0] = counted(e, () => e.m.shootdown({ cpus: [1], vaddr: va(0), initiator: 0 }));
    expect(n).toBe(1);
    expect(d0).toEqual({ "cycles": 2000n, "cycles_translation": 2000n });
    expect(look(e, 0, 0)).toBe("hit");
    expect(look(e, 0, 1)).toBe("walk");
  });

  it("only the initiator: no IPI, no IPI cycles", async () => {
    const e = await two();
    const [n, d] = counted(e, () => e.m.shootdown({ cpus: [0], vaddr: va(0) }));
    expect(n).toBe(0);
    expect(d).toEqual({ "tlb_flush_page": 1n });
    expect(e.m.counters(1)["tlb_shootdown_ipi"]).toBe(0n);
  });

  it("33 pages are 33 INVLPGs; a full flush flushes each CPU's current PCID instead, globals kept", async () => {
    const e = await two();
    const [, d] = counted(e, () => e.m.shootdown({ cpus: [0, 1], vaddr: va(0), pages: 33 }), 1);
    expect(d["tlb_flush_page"]).toBe(33n);
    expect(looks(e, [32, 33, G], 1)).toEqual(["walk", "hit", "walk"]);
    for (const c of [0, 1]) for (let i = 0; i < 40; i++) look(e, i, c);
    const [, d2] = counted(e, () => e.m.shootdown({ cpus: [0, 1], vaddr: va(0), pages: 34, full: true }), 1);
    expect(d2).toEqual({ "tlb_flush_pcid": 1n, "tlb_shootdown_ipi": 1n, "cycles": 2000n, "cycles_translation": 2000n });
    expect(looks(e, [39, G], 1)).toEqual(["walk", "hit"]);
    expect(looks(e, [39, G], 0)).toEqual(["walk", "hit"]);
  });

  it("a full flush is of each CPU's current PCID only", async () => {
    const e = await spaces({}, { cpus: 2 });
    pcids(e, 1);
    look(e, 0, 1);
    cr3(e, e.A.root | 2n | NOFLUSH, 1);
    look(e, 0, 1); look(e, 1, 1);
    e.m.shootdown({ cpus: [1], vaddr: va(0), pages: 2, full: true });
    expect(looks(e, [0, 1], 1)).toEqual(["walk", "walk"]);
    cr3(e, e.A.root | 1n | NOFLUSH, 1);
    expect(look(e, 0, 1)).toBe("hit");
  });
});
