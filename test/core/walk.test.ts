/**
 * The page walker against Intel SDM Vol. 3A chapter 4 (and §3.3.7.1, §11.12): geometry, A/D
 * flags, #PF error codes, reserved bits, access rights, protection keys, canonical addresses,
 * memory types and counters. Every test asserts exact values.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { machineWithTables, TABLE_AREA } from "../helpers/machine.js";
import type { Machine, Cpu } from "../../src/machine/Machine.js";
import type { PageTableBuilder, LeafFlags } from "../../src/machine/pagetables.js";
import type { AccessOptions, MachineConfig, Translation } from "../../src/types.js";
import {
  PAGE_ACCESSED, PAGE_DIRTY, PAGE_PSE, PAGE_NX, PAGE_RW, PAGE_USER, PTE_ADDR_FIELD,
  CR0_WP, CR4_SMEP, CR4_SMAP, CR4_PKE, CR4_PCIDE, EFER_NXE, RFLAGS_AC,
} from "../../src/machine/pgtable.js";

const VA = 0x7f12_3456_7000n;   // user-half linear address, 4 KiB page
const PA = 0x80_1000n;          // data frame at 8 MiB + 4 KiB (bit 12 set: an address bit in a PTE)
const VA2M = 0x7f12_4000_0000n;  // a different PDPTE from VA
const PA2M = 0xa0_0000n;        // 10 MiB
const VA1G = 0x7f00_4000_0000n;
const PA1G = 0x4000_0000n;      // 1 GiB: no 1 GiB-aligned frame exists in 64 MiB of RAM; translation never touches it
const P_RW_US = 0x7n;
const RESET_CR0 = 0x8005_0033n;

type Env = { m: Machine; pt: PageTableBuilder; cpu: Cpu };

async function env(config: MachineConfig = {}): Promise<Env> {
  const { m, pt } = await machineWithTables(config);
  return { m, pt, cpu: m.cpu(0) };
}

/** A machine with VA → PA mapped as one 4 KiB page with `flags`. */
async function mapped(flags: LeafFlags = { write: true, user: true }, config: MachineConfig = {}): Promise<Env> {
  const e = await env(config);
  e.pt.map(VA, PA, flags);
  return e;
}

/** "ok", "GP", or the #PF error code. */
function outcome(t: Translation): "ok" | "GP" | number {
  if (t.ok) return "ok";
  return t.exception.vector === "PF" ? t.exception.errorCode : "GP";
}

function paddr(t: Translation): bigint | string {
  return t.ok ? t.paddr : `fault ${JSON.stringify(outcome(t))}`;
}

/** Physical address of the entry at `level` for `va`, found with a probe walk (which writes nothing). */
function entryAt(e: Env, va: bigint, level: number): bigint {
  const l = e.cpu.walk(va, { probe: true }).levels.find((x) => x.level === level);
  if (!l) throw new Error(`no level-${level} entry for 0x${va.toString(16)}`);
  return l.entryAddress;
}

/** Set and clear bits of the entry at `level` for `va`; returns its physical address. */
function patch(e: Env, va: bigint, level: number, set: bigint, clear = 0n): bigint {
  const a = entryAt(e, va, level);
  e.m.phys.write64(a, (e.m.phys.read64(a) | set) & ~clear);
  return a;
}

/** Raw values of every entry on the walk of `va`, top first. */
function entries(e: Env, va: bigint): bigint[] {
  return e.cpu.walk(va, { probe: true }).levels.map((l) => e.m.phys.read64(l.entryAddress));
}

/** Run `f` and return its result with the counters (CPU 0) that changed, as deltas. */
function counted<T>(e: Env, f: () => T): [T, Record<string, bigint>] {
  const a = e.m.counters(0);
  const r = f();
  const b = e.m.counters(0);
  return [r, Object.fromEntries(Object.keys(b).filter((k) => b[k] !== a[k]).map((k) => [k, b[k] - a[k]]))];
}

function setCr4(e: Env, bits: bigint): void {
  expect(e.cpu.writeCr4(e.cpu.registers.cr4 | bits)).toBeNull();
}

const idx = (va: bigint, level: number) => Number((va >> BigInt(12 + 9 * (level - 1))) & 511n);

describe("§4.5 walk geometry: 4-level and 5-level, 4 KiB / 2 MiB / 1 GiB leaves", () => {
  const cases = [
    { paging: 4, size: "4K", va: VA, pa: PA, off: 0xabcn },
    { paging: 4, size: "4K", va: 0xffff_ffff_8123_4000n, pa: 0x90_0000n, off: 0x10n },
    { paging: 4, size: "2M", va: VA2M, pa: PA2M, off: 0x1_2345n },
    { paging: 4, size: "1G", va: VA1G, pa: PA1G, off: 0x1234_5678n },
    { paging: 5, size: "4K", va: 0x00ab_cdef_1234_5000n, pa: PA, off: 0xabcn },
    { paging: 5, size: "4K", va: 0xff12_3456_789a_b000n, pa: 0x90_0000n, off: 0xff8n },
    { paging: 5, size: "2M", va: 0x00ab_cdef_1240_0000n, pa: PA2M, off: 0x1f_fff0n },
    { paging: 5, size: "1G", va: 0x00ab_cdef_4000_0000n, pa: PA1G, off: 0x3fff_ffffn },
  ] as const;
  const leafLevel = { "4K": 1, "2M": 2, "1G": 3 } as const;
  const pageSize = { "4K": 4096, "2M": 2097152, "1G": 1073741824 } as const;
  const intel = ["", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"];
  const linux = { 4: ["", "pte", "pmd", "pud", "pgd"], 5: ["", "pte", "pmd", "pud", "p4d", "pgd"] };

  it.each(cases)("§4.5 paging $paging, $size leaf at $va: exact paddr, pageSize, levels and names", async (c) => {
    const e = await env({ paging: c.paging });
    e.pt.map(c.va, c.pa, { write: true, user: true }, c.size);
    const w = e.cpu.walk(c.va + c.off, { kind: "read", cpl: 3 });
    expect(w.ok).toBe(true);
    expect(paddr(w)).toBe(c.pa + c.off);
    expect(w.ok && w.pageSize).toBe(pageSize[c.size]);
    const want: number[] = [];
    for (let l = c.paging; l >= leafLevel[c.size]; l--) want.push(l);
    expect(w.levels.map((l) => l.level)).toEqual(want);
    expect(w.levels.map((l) => l.intelName)).toEqual(want.map((l) => intel[l]));
    expect(w.levels.map((l) => l.linuxName)).toEqual(want.map((l) => linux[c.paging][l]));
    expect(w.levels.map((l) => l.index)).toEqual(want.map((l) => idx(c.va, l)));
    expect(w.levels.map((l) => l.leaf)).toEqual(want.map((_, i) => i === want.length - 1));
    expect(w.stop).toBe("leaf");
    expect(w.stopLevel).toBe(leafLevel[c.size]);
    // Tables are allocated in order from TABLE_AREA.start; each entry points at the next one.
    const n = want.length;
    expect(w.levels.map((l) => l.value)).toEqual(want.map((_, i) => i === n - 1
      ? c.pa | P_RW_US | (c.size === "4K" ? 0n : PAGE_PSE)
      : (TABLE_AREA.start + BigInt(i + 1) * 0x1000n) | P_RW_US));
    expect(w.levels[0].entryAddress).toBe(TABLE_AREA.start + BigInt(idx(c.va, c.paging) * 8));
    for (let i = 1; i < n; i++) {
      expect(w.levels[i].entryAddress).toBe((w.levels[i - 1].value & PTE_ADDR_FIELD) + BigInt(w.levels[i].index * 8));
    }
  });

  it("§4.5 bit 12 of a 4 KiB PTE is an address bit; PAT (bit 7) is not", async () => {
    const e = await mapped({ write: true, pat: true });
    expect(paddr(e.cpu.translate(VA + 0x345n))).toBe(0x80_1345n);
  });
});

describe("§4.8 accessed and dirty flags", () => {
  it("§4.8 a read sets A in every entry used and D nowhere", async () => {
    const e = await mapped();
    const [w, d] = counted(e, () => e.cpu.walk(VA, { kind: "read", cpl: 3 }));
    expect(w.levels.map((l) => l.valueAfter)).toEqual(w.levels.map((l) => l.value | PAGE_ACCESSED));
    expect(entries(e, VA)).toEqual(w.levels.map((l) => l.value | PAGE_ACCESSED));
    expect(w.levels[3].valueAfter).toBe(PA | P_RW_US | PAGE_ACCESSED);
    expect(w.ok && w.rights.dirty).toBe(false);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: 4n, walk_completed: 1n, ad_accessed_set: 4n });
  });

  it("§4.8 a write sets A everywhere and D only in the 4 KiB leaf", async () => {
    const e = await mapped();
    const [w, d] = counted(e, () => e.cpu.walk(VA, { kind: "write", cpl: 3 }));
    expect(w.levels.map((l) => l.valueAfter)).toEqual(w.levels.map((l, i) => l.value | PAGE_ACCESSED | (i === 3 ? PAGE_DIRTY : 0n)));
    expect(entries(e, VA)[3]).toBe(PA | P_RW_US | PAGE_ACCESSED | PAGE_DIRTY);
    expect(w.ok && w.rights.dirty).toBe(true);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: 4n, walk_completed: 1n, ad_accessed_set: 4n, ad_dirty_set: 1n });
  });

  it("§4.8 a write through a 2 MiB leaf sets D in the PDE only", async () => {
    const e = await env();
    e.pt.map(VA2M, PA2M, { write: true }, "2M");
    const w = e.cpu.walk(VA2M, { kind: "write" });
    expect(entries(e, VA2M)).toEqual([
      0x10_1007n | PAGE_ACCESSED, 0x10_2007n | PAGE_ACCESSED, PA2M | 0x83n | PAGE_ACCESSED | PAGE_DIRTY,
    ]);
    expect(w.levels.map((l) => l.valueAfter)).toEqual(entries(e, VA2M));
  });

  it("§4.8 flags already set are not rewritten and not counted", async () => {
    const e = await mapped({ write: true, user: true, accessed: true });
    e.cpu.translate(VA, { kind: "read" });
    const [w, d] = counted(e, () => e.cpu.walk(VA, { kind: "write" }));
    expect(w.levels.slice(0, 3).map((l) => l.valueAfter)).toEqual(w.levels.slice(0, 3).map((l) => l.value));
    expect(w.levels[3].valueAfter).toBe(PA | P_RW_US | PAGE_ACCESSED | PAGE_DIRTY);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: 4n, walk_completed: 1n, ad_dirty_set: 1n });
  });

  it("§4.8 (documented choice) a faulting write leaves the leaf and every entry unchanged", async () => {
    const e = await mapped({ user: true });
    const before = entries(e, VA);
    const w = e.cpu.walk(VA, { kind: "write", cpl: 3 });
    expect(outcome(w)).toBe(0x7);
    expect(w.levels.map((l) => l.valueAfter)).toEqual(before);
    expect(entries(e, VA)).toEqual(before);
  });

  it("§4.8 a not-present PTE leaves the upper entries without A", async () => {
    const e = await mapped();
    patch(e, VA, 1, 0n, 1n);
    const before = entries(e, VA);
    const [w, d] = counted(e, () => e.cpu.walk(VA, { kind: "read" }));
    expect(outcome(w)).toBe(0x0);
    expect(entries(e, VA)).toEqual(before);
    expect(d.ad_accessed_set).toBeUndefined();
  });

  it("probe:true writes no A/D, leaves CR2 and every counter unchanged, on success and on #PF", async () => {
    const e = await mapped({ user: true });
    e.cpu.writeCr2(0x1111_1000n);
    const before = entries(e, VA);
    const [ok, d1] = counted(e, () => e.cpu.walk(VA + 8n, { kind: "read", probe: true }));
    expect(paddr(ok)).toBe(PA + 8n);
    expect(ok.levels.map((l) => l.valueAfter)).toEqual(before);
    const [bad, d2] = counted(e, () => e.cpu.translate(VA, { kind: "write", cpl: 3, probe: true }));
    expect(outcome(bad)).toBe(0x7);
    expect([d1, d2]).toEqual([{}, {}]);
    expect(entries(e, VA)).toEqual(before);
    expect(e.cpu.registers.cr2).toBe(0x1111_1000n);
  });

  it("probe:true through a table beyond RAM counts no phys_read_oob anywhere (regression)", async () => {
    const e = await mapped({ user: true });
    patch(e, VA, 2, 0n, ~0n);                       // clear the PDE …
    e.m.phys.write64(entryAt(e, VA, 2), 0x8000_0000n | P_RW_US); // … and point it at 2 GiB, beyond 64 MiB of RAM
    const all = e.m.counters("all");
    const t = e.cpu.translate(VA, { probe: true });
    expect(outcome(t)).toBe(0x9);                   // the PTE read as all ones: reserved bits, P=1 RSVD=1
    expect(e.m.counters("all")).toEqual(all);
    expect(outcome(e.cpu.translate(VA))).toBe(0x9); // the same walk without probe does count
    expect(e.m.counters(0).phys_read_oob).toBe(all.phys_read_oob + 8n);
  });
});

describe("§4.7 page-fault error codes and CR2", () => {
  it.each([[4, 4], [4, 3], [4, 2], [4, 1], [5, 5], [5, 4], [5, 3], [5, 2], [5, 1]] as const)(
    "§4.7 paging %i, P=0 at level %i: error code 0x0, walk stops there, CR2 = address",
    async (paging, level) => {
      const e = await env({ paging });
      const va = paging === 5 ? 0x00ab_cdef_1234_5000n : VA;
      e.pt.map(va, PA, { write: true, user: true });
      e.pt.setEntry(va, level, 0xffff_ffff_ffff_fffen); // P=0: every other bit is ignored
      const [w, d] = counted(e, () => e.cpu.walk(va + 0x321n, { kind: "read" }));
      expect(outcome(w)).toBe(0x0);
      expect(w.stop).toBe("not-present");
      expect(w.stopLevel).toBe(level);
      expect(w.levels.length).toBe(paging - level + 1);
      expect(e.cpu.registers.cr2).toBe(va + 0x321n);
      expect(!w.ok && w.exception.vector === "PF" && w.exception.cr2).toBe(va + 0x321n);
      expect(d).toEqual({ walk_started: 1n, walk_mem_ref: BigInt(paging - level + 1), fault_pf: 1n, fault_pf_not_present: 1n });
    });

  it.each([
    ["read", 0, 0x00], ["write", 0, 0x02], ["read", 3, 0x04], ["write", 3, 0x06], ["fetch", 0, 0x10], ["fetch", 3, 0x14],
  ] as const)("§4.7 not-present %s at CPL %i (EFER.NXE=1): error code %#x", async (kind, cpl, code) => {
    const e = await env();
    expect(outcome(e.cpu.translate(VA, { kind, cpl }))).toBe(code);
  });

  it("§4.7 I/D is 0 on a fetch with EFER.NXE=0 and CR4.SMEP=0, and 1 with SMEP=1", async () => {
    const e = await env();
    expect(e.cpu.writeEfer(e.cpu.registers.efer & ~EFER_NXE)).toBeNull();
    expect(outcome(e.cpu.translate(VA, { kind: "fetch" }))).toBe(0x00);
    expect(outcome(e.cpu.translate(VA, { kind: "fetch", cpl: 3 }))).toBe(0x04);
    setCr4(e, CR4_SMEP);
    expect(outcome(e.cpu.translate(VA, { kind: "fetch" }))).toBe(0x10);
  });

  it("§4.7 CR2 holds the faulting linear address; a successful access leaves it", async () => {
    const e = await mapped({ write: true });
    expect(outcome(e.cpu.translate(VA + 0xabcn, { kind: "write", cpl: 3 }))).toBe(0x7);
    expect(e.cpu.registers.cr2).toBe(VA + 0xabcn);
    expect(paddr(e.cpu.translate(VA + 0x10n, { kind: "write" }))).toBe(PA + 0x10n);
    expect(e.cpu.registers.cr2).toBe(VA + 0xabcn);
  });
});

describe("§4.5 reserved bits: #PF with P=1 and RSVD=1", () => {
  it.each([36, 46])("§4.5 MAXPHYADDR %i: bit M of the PTE or PDE is reserved, bit M-1 is an address bit", async (M) => {
    const e = await mapped({ write: true, user: true }, { maxPhyAddr: M });
    const bit = 1n << BigInt(M);
    const pte = patch(e, VA, 1, bit);
    const [w, d] = counted(e, () => e.cpu.walk(VA + 0x10n, { kind: "read" }));
    expect(outcome(w)).toBe(0x9);
    expect([w.stop, w.stopLevel]).toEqual(["reserved-bit", 1]);
    expect(w.levels[3].valueAfter).toBe(PA | P_RW_US | bit);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: 4n, fault_pf: 1n, fault_pf_rsvd: 1n });
    expect(outcome(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(0xf);
    expect(outcome(e.cpu.translate(VA, { kind: "fetch", cpl: 3 }))).toBe(0x1d);
    e.m.phys.write64(pte, PA | P_RW_US | (1n << 51n));
    expect(outcome(e.cpu.translate(VA))).toBe(0x9);
    e.m.phys.write64(pte, PA | P_RW_US | (bit >> 1n));
    expect(paddr(e.cpu.translate(VA + 0x10n))).toBe((bit >> 1n) | PA | 0x10n);
    patch(e, VA, 2, bit);
    const w2 = e.cpu.walk(VA, { kind: "read" });
    expect([outcome(w2), w2.stop, w2.stopLevel, w2.levels.length]).toEqual([0x9, "reserved-bit", 2, 3]);
  });

  it("§4.5 PS=1 in a PML4E is reserved (4-level)", async () => {
    const e = await mapped();
    patch(e, VA, 4, PAGE_PSE);
    const w = e.cpu.walk(VA, { kind: "read" });
    expect([outcome(w), w.stop, w.stopLevel, w.levels.length]).toEqual([0x9, "reserved-bit", 4, 1]);
  });

  it.each([5, 4])("§4.5 paging 5: PS=1 in the level-%i entry (PML5E/PML4E) is reserved", async (level) => {
    const e = await env({ paging: 5 });
    const va = 0x00ab_cdef_1234_5000n;
    e.pt.map(va, PA, { write: true });
    patch(e, va, level, PAGE_PSE);
    const w = e.cpu.walk(va, { kind: "write" });
    expect([outcome(w), w.stop, w.stopLevel]).toEqual([0xb, "reserved-bit", level]);
  });

  it.each([13, 16, 20])("§4.5 2 MiB leaf: bit %i (of 20:13) is reserved", async (b) => {
    const e = await env();
    e.pt.map(VA2M, PA2M, { write: true }, "2M");
    patch(e, VA2M, 2, 1n << BigInt(b));
    const w = e.cpu.walk(VA2M, { kind: "read" });
    expect([outcome(w), w.stop, w.stopLevel]).toEqual([0x9, "reserved-bit", 2]);
  });

  it("§4.5 2 MiB leaf: bit 12 is PAT (not reserved), bit 22 is an address bit", async () => {
    const e = await env();
    e.pt.map(VA2M, PA2M, { write: true }, "2M");
    patch(e, VA2M, 2, 1n << 12n);
    expect(paddr(e.cpu.translate(VA2M + 0x1234n))).toBe(PA2M + 0x1234n);
    patch(e, VA2M, 2, 1n << 22n);
    expect(paddr(e.cpu.translate(VA2M + 0x1234n))).toBe(PA2M + 0x40_1234n);
  });

  it.each([13, 20, 21, 29])("§4.5 1 GiB leaf: bit %i (of 29:13) is reserved", async (b) => {
    const e = await env();
    e.pt.map(VA1G, PA1G, { write: true }, "1G");
    patch(e, VA1G, 3, 1n << BigInt(b));
    const w = e.cpu.walk(VA1G, { kind: "read" });
    expect([outcome(w), w.stop, w.stopLevel]).toEqual([0x9, "reserved-bit", 3]);
  });

  it("§4.5 1 GiB leaf: bit 12 is PAT, bit 31 is an address bit", async () => {
    const e = await env();
    e.pt.map(VA1G, PA1G, { write: true }, "1G");
    patch(e, VA1G, 3, (1n << 12n) | (1n << 31n));
    expect(paddr(e.cpu.translate(VA1G + 0x123n))).toBe(0xc000_0123n);
  });

  it("§4.5 XD (bit 63) is reserved at every level when EFER.NXE=0; a fetch then has no I/D bit", async () => {
    const e = await mapped();
    expect(e.cpu.writeEfer(0x501n)).toBeNull(); // SCE LME LMA, no NXE
    const pte = patch(e, VA, 1, PAGE_NX);
    const w = e.cpu.walk(VA, { kind: "read" });
    expect([outcome(w), w.stop, w.stopLevel]).toEqual([0x9, "reserved-bit", 1]);
    expect(outcome(e.cpu.translate(VA, { kind: "fetch" }))).toBe(0x9);
    patch(e, VA, 1, 0n, PAGE_NX);
    patch(e, VA, 4, PAGE_NX);
    const w4 = e.cpu.walk(VA, { kind: "read" });
    expect([outcome(w4), w4.stopLevel]).toEqual([0x9, 4]);
    expect(e.cpu.writeEfer(0xd01n)).toBeNull();
    e.m.phys.write64(pte, PA | P_RW_US | PAGE_NX);
    expect(paddr(e.cpu.translate(VA, { kind: "read" }))).toBe(PA);
  });

  it("§4.5 PS=1 in a PDPTE is reserved without 1-GByte page support; 2 MiB leaves still work", async () => {
    const e = await env({ features: { page1gb: false } });
    e.pt.map(VA1G, PA1G, { write: true }, "1G");
    e.pt.map(VA2M, PA2M, { write: true }, "2M");
    const w = e.cpu.walk(VA1G, { kind: "read" });
    expect([outcome(w), w.stop, w.stopLevel]).toEqual([0x9, "reserved-bit", 3]);
    expect(paddr(e.cpu.translate(VA2M + 5n))).toBe(PA2M + 5n);
  });

  it("§4.5 bits 62:52 of non-leaf entries and 58:52 of a leaf are ignored (no fault) and preserved by A updates", async () => {
    const e = await mapped();
    const hi = 0x7ff0_0000_0000_0000n;
    for (const l of [4, 3, 2]) patch(e, VA, l, hi);
    patch(e, VA, 1, 0x07f0_0000_0000_0000n);
    const w = e.cpu.walk(VA + 1n, { kind: "write", cpl: 3 });
    expect(paddr(w)).toBe(PA + 1n);
    expect(w.levels.slice(0, 3).map((l) => l.valueAfter & hi)).toEqual([hi, hi, hi]);
  });

  it("§4.6.2 protection-key bits 62:59 are ignored when CR4.PKE=0", async () => {
    const e = await mapped({ write: true, user: true, protectionKey: 15 });
    const t = e.cpu.translate(VA, { kind: "write", cpl: 3 });
    expect(paddr(t)).toBe(PA);
    expect(t.ok && t.rights.protectionKey).toBe(15);
  });
});

describe("§4.6 access rights", () => {
  it("§4.6.1 user read of a supervisor page: #PF 0x5, stop rights", async () => {
    const e = await mapped({ write: true });
    const [w, d] = counted(e, () => e.cpu.walk(VA, { kind: "read", cpl: 3 }));
    expect([outcome(w), w.stop, w.stopLevel]).toEqual([0x5, "rights", 1]);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: 4n, fault_pf: 1n, fault_pf_prot: 1n });
    expect(paddr(e.cpu.translate(VA, { kind: "read", cpl: 0 }))).toBe(PA);
  });

  it("§4.6.1 user write to a read-only user page: #PF 0x7; user read is allowed", async () => {
    const e = await mapped({ user: true });
    expect(outcome(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(0x7);
    expect(paddr(e.cpu.translate(VA, { kind: "read", cpl: 3 }))).toBe(PA);
  });

  it("§4.6.1 supervisor write to a read-only page: #PF 0x3 with CR0.WP=1, allowed (and D set) with WP=0", async () => {
    const e = await mapped({});
    expect(outcome(e.cpu.translate(VA, { kind: "write" }))).toBe(0x3);
    expect(e.cpu.writeCr0(RESET_CR0 & ~CR0_WP)).toBeNull();
    const w = e.cpu.walk(VA, { kind: "write" });
    expect(paddr(w)).toBe(PA);
    expect(w.levels[3].valueAfter).toBe(PA | 0x1n | PAGE_ACCESSED | PAGE_DIRTY);
  });

  it("§4.6.1 R/W=0 only in the PDPTE still denies writes (rights are ANDed over levels)", async () => {
    const e = await mapped();
    patch(e, VA, 3, 0n, PAGE_RW);
    expect(outcome(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(0x7);
    expect(outcome(e.cpu.translate(VA, { kind: "write", cpl: 0 }))).toBe(0x3);
    const t = e.cpu.translate(VA, { kind: "read", cpl: 3 });
    expect(t.ok && t.rights.write).toBe(false);
  });

  it("§4.6.1 U/S=0 only in the PML4E makes the page supervisor", async () => {
    const e = await mapped();
    patch(e, VA, 4, 0n, PAGE_USER);
    expect(outcome(e.cpu.translate(VA, { kind: "read", cpl: 3 }))).toBe(0x5);
    const t = e.cpu.translate(VA, { kind: "read" });
    expect(t.ok && t.rights.user).toBe(false);
  });

  it("§4.6.1 XD=1 only in the PDE denies fetches with NXE=1 (0x11 / 0x15), not reads", async () => {
    const e = await mapped();
    patch(e, VA, 2, PAGE_NX);
    expect(outcome(e.cpu.translate(VA, { kind: "fetch" }))).toBe(0x11);
    expect(outcome(e.cpu.translate(VA, { kind: "fetch", cpl: 3 }))).toBe(0x15);
    const t = e.cpu.translate(VA, { kind: "read", cpl: 3 });
    expect(t.ok && t.rights.noExecute).toBe(true);
  });

  it("§4.6.1 SMEP: supervisor fetch from a user page faults (0x11); supervisor read/write and fetch of supervisor pages do not", async () => {
    const e = await mapped();
    e.pt.map(VA + 0x1000n, PA + 0x1000n, { write: true });
    expect(paddr(e.cpu.translate(VA, { kind: "fetch" }))).toBe(PA); // SMEP=0
    setCr4(e, CR4_SMEP);
    const w = e.cpu.walk(VA, { kind: "fetch" });
    expect([outcome(w), w.stop]).toEqual([0x11, "rights"]);
    expect(paddr(e.cpu.translate(VA, { kind: "read" }))).toBe(PA);
    expect(paddr(e.cpu.translate(VA, { kind: "write" }))).toBe(PA);
    expect(paddr(e.cpu.translate(VA, { kind: "fetch", cpl: 3 }))).toBe(PA);
    expect(paddr(e.cpu.translate(VA + 0x1000n, { kind: "fetch" }))).toBe(PA + 0x1000n);
  });

  it("§4.6.1 SMAP: supervisor data access to a user page faults with AC=0, works with AC=1; implicit faults even with AC=1", async () => {
    const e = await mapped();
    expect(paddr(e.cpu.translate(VA, { kind: "read", implicit: true }))).toBe(PA); // SMAP=0
    setCr4(e, CR4_SMAP);
    expect(outcome(e.cpu.translate(VA, { kind: "read" }))).toBe(0x1);
    expect(outcome(e.cpu.translate(VA, { kind: "write" }))).toBe(0x3);
    expect(paddr(e.cpu.translate(VA, { kind: "fetch" }))).toBe(PA); // SMAP does not govern fetches
    e.cpu.writeRflags(0x2n | RFLAGS_AC);
    expect(paddr(e.cpu.translate(VA, { kind: "read" }))).toBe(PA);
    expect(paddr(e.cpu.translate(VA, { kind: "write" }))).toBe(PA);
    expect(outcome(e.cpu.translate(VA, { kind: "read", implicit: true }))).toBe(0x1);
    expect(outcome(e.cpu.translate(VA, { kind: "write", implicit: true }))).toBe(0x3);
  });

  it("§4.6 an implicit access at CPL 3 is a supervisor-mode access (U/S=0 in the error code)", async () => {
    const e = await mapped({ write: true });
    expect(paddr(e.cpu.translate(VA, { kind: "read", cpl: 3, implicit: true }))).toBe(PA);
    expect(outcome(e.cpu.translate(VA + 0x1000n, { kind: "read", cpl: 3, implicit: true }))).toBe(0x0);
    expect(outcome(e.cpu.translate(VA + 0x1000n, { kind: "read", cpl: 3 }))).toBe(0x4);
    e.pt.map(VA + 0x2000n, PA + 0x1000n, { user: true });
    setCr4(e, CR4_SMAP);
    expect(outcome(e.cpu.translate(VA + 0x2000n, { kind: "write", cpl: 3, implicit: true }))).toBe(0x3);
  });
});

describe("§4.6.2 protection keys (CR4.PKE=1)", () => {
  const AD5 = 1 << 10;
  const WD5 = 1 << 11;
  /** User page VA (key 5, RW), supervisor page VA+0x1000 (key 5, RW), read-only user page VA+0x2000 (key 5). */
  async function pkEnv(pkru: number): Promise<Env> {
    const e = await mapped({ write: true, user: true, protectionKey: 5 });
    e.pt.map(VA + 0x1000n, PA + 0x1000n, { write: true, protectionKey: 5 });
    e.pt.map(VA + 0x2000n, PA + 0x2000n, { user: true, protectionKey: 5 });
    setCr4(e, CR4_PKE);
    expect(e.cpu.writePkru(pkru)).toBeNull();
    return e;
  }

  it("§4.6.2 AD denies user and supervisor reads and writes of a user page: 0x25 0x27 0x21 0x23", async () => {
    const e = await pkEnv(AD5);
    const [w, d] = counted(e, () => e.cpu.walk(VA, { kind: "read", cpl: 3 }));
    expect([outcome(w), w.stop, w.stopLevel]).toEqual([0x25, "protection-key", 1]);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: 4n, fault_pf: 1n, fault_pf_pk: 1n });
    expect(outcome(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(0x27);
    expect(outcome(e.cpu.translate(VA, { kind: "read" }))).toBe(0x21);
    expect(outcome(e.cpu.translate(VA, { kind: "write" }))).toBe(0x23);
  });

  it("§4.6.2 keys apply neither to fetches nor to supervisor-mode addresses; other keys' bits do not matter", async () => {
    const e = await pkEnv(AD5 | WD5);
    expect(paddr(e.cpu.translate(VA, { kind: "fetch", cpl: 3 }))).toBe(PA);
    expect(paddr(e.cpu.translate(VA, { kind: "fetch" }))).toBe(PA);
    expect(paddr(e.cpu.translate(VA + 0x1000n, { kind: "read" }))).toBe(PA + 0x1000n);
    expect(paddr(e.cpu.translate(VA + 0x1000n, { kind: "write" }))).toBe(PA + 0x1000n);
    expect(e.cpu.writePkru(~(AD5 | WD5) >>> 0)).toBeNull();
    expect(paddr(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(PA);
  });

  it("§4.6.2 WD denies user writes (0x27) but not reads; supervisor writes only with CR0.WP=1 (0x23)", async () => {
    const e = await pkEnv(WD5);
    expect(outcome(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(0x27);
    expect(paddr(e.cpu.translate(VA, { kind: "read", cpl: 3 }))).toBe(PA);
    expect(outcome(e.cpu.translate(VA, { kind: "write" }))).toBe(0x23);
    expect(e.cpu.writeCr0(RESET_CR0 & ~CR0_WP)).toBeNull();
    expect(paddr(e.cpu.translate(VA, { kind: "write" }))).toBe(PA);
    expect(outcome(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(0x27);
  });

  it("§4.7 PK is set when page rights also deny (stop rights, counted as prot)", async () => {
    const e = await pkEnv(WD5);
    const [w, d] = counted(e, () => e.cpu.walk(VA + 0x2000n, { kind: "write", cpl: 3 }));
    expect([outcome(w), w.stop]).toEqual([0x27, "rights"]);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: 4n, fault_pf: 1n, fault_pf_prot: 1n });
    setCr4(e, CR4_SMAP);
    expect(e.cpu.writePkru(AD5)).toBeNull();
    expect(outcome(e.cpu.translate(VA, { kind: "read" }))).toBe(0x21);
    expect(outcome(e.cpu.translate(VA + 0x1000n, { kind: "read", cpl: 3 }))).toBe(0x5); // supervisor address: no PK
  });

  it("§4.6.2 with PKE cleared again, a PKRU AD bit no longer matters", async () => {
    const e = await pkEnv(AD5);
    expect(e.cpu.writeCr4(e.cpu.registers.cr4 & ~CR4_PKE)).toBeNull();
    expect(paddr(e.cpu.translate(VA, { kind: "write", cpl: 3 }))).toBe(PA);
  });
});

describe("§3.3.7.1 canonical addresses", () => {
  it("§3.3.7.1 4-level: 0x0000800000000000 is #GP(0) with no walk, CR2 unchanged", async () => {
    const e = await env();
    e.cpu.writeCr2(0x5000n);
    const [w, d] = counted(e, () => e.cpu.walk(0x0000_8000_0000_0000n, { kind: "read" }));
    expect(w).toMatchObject({ ok: false, exception: { vector: "GP", vectorNumber: 13, errorCode: 0 }, levels: [], stop: "non-canonical", stopLevel: 0 });
    expect(d).toEqual({ fault_gp: 1n });
    expect(e.cpu.registers.cr2).toBe(0x5000n);
    expect(outcome(e.cpu.translate(0xffff_7fff_ffff_f000n))).toBe("GP");
    expect(outcome(e.cpu.translate(0xffff_8000_0000_0000n))).toBe(0x0); // canonical: walks, not present
  });

  it("§3.3.7.1 5-level: 0x0000800000000000 walks; 0x0100000000000000 is #GP; 0xff00000000000000 walks", async () => {
    const e = await env({ paging: 5 });
    e.pt.map(0x0000_8000_0000_0000n, PA, { write: true });
    const w = e.cpu.walk(0x0000_8000_0000_0008n, { kind: "read" });
    expect([paddr(w), w.levels.length]).toEqual([PA + 8n, 5]);
    const [g, d] = counted(e, () => e.cpu.translate(0x0100_0000_0000_0000n));
    expect(outcome(g)).toBe("GP");
    expect(d).toEqual({ fault_gp: 1n });
    const n = e.cpu.walk(0xff00_0000_0000_0000n);
    expect([outcome(n), n.stopLevel]).toEqual([0x0, 5]);
  });

  it("§3.3.7.1 property: #GP exactly for addresses whose bits 63:47 are not all equal (4-level)", async () => {
    const e = await env();
    const near = fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 63 }))
      .map(([a, b]) => (((1n << BigInt(a)) - 1n) ^ (1n << BigInt(b))) & ((1n << 64n) - 1n));
    fc.assert(fc.property(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), near), (va) => {
      const top = va >> 47n;
      const canonical = top === 0n || top === (1n << 17n) - 1n;
      expect(outcome(e.cpu.translate(va, { probe: true }))).toBe(canonical ? 0x0 : "GP");
    }), { seed: 42, numRuns: 300 });
  });
});

describe("§4.9 / §11.12 memory type", () => {
  const RESET = ["WB", "WT", "UC-", "UC", "WB", "WT", "UC-", "UC"];
  const CUSTOM = 0x0401_0700_0504_0106n; // index 0..7: WB WC WT WP UC UC- WC WT
  const CUSTOM_T = ["WB", "WC", "WT", "WP", "UC", "UC-", "WC", "WT"];
  const fl = (i: number): LeafFlags => ({ pwt: (i & 1) !== 0, pcd: (i & 2) !== 0, pat: (i & 4) !== 0 });

  /** Memory types of 8 pages whose leaves select PAT index 0..7, for 4 KiB (bit 7 = PAT) and 2 MiB (bit 12 = PAT). */
  async function types(pat?: bigint): Promise<[string[], string[]]> {
    const e = await env();
    if (pat !== undefined) expect(e.cpu.writePat(pat)).toBeNull();
    const t4: string[] = [];
    const t2: string[] = [];
    for (let i = 0; i < 8; i++) {
      e.pt.map(VA + BigInt(i) * 0x1000n, PA, fl(i));
      e.pt.map(VA2M + BigInt(i) * 0x20_0000n, PA2M, fl(i), "2M");
      const a = e.cpu.translate(VA + BigInt(i) * 0x1000n);
      const b = e.cpu.translate(VA2M + BigInt(i) * 0x20_0000n);
      t4.push(a.ok ? a.memoryType : "fault");
      t2.push(b.ok ? b.memoryType : "fault");
    }
    return [t4, t2];
  }

  it("§11.12.3 reset PAT: PAT:PCD:PWT index selects WB WT UC- UC WB WT UC- UC for 4 KiB and 2 MiB leaves", async () => {
    expect(await types()).toEqual([RESET, RESET]);
  });

  it("§11.12.3 custom PAT via WRMSR: every index picks its entry; PAT bit is 7 in a PTE, 12 in a 2 MiB leaf", async () => {
    expect(await types(CUSTOM)).toEqual([CUSTOM_T, CUSTOM_T]);
  });

  it("§11.12.3 bit 12 of a 4 KiB PTE does not select PAT entries 4..7", async () => {
    const e = await env();
    expect(e.cpu.writePat(CUSTOM)).toBeNull();
    e.pt.map(VA, PA, { pwt: true }); // PA has bit 12 set
    const t = e.cpu.translate(VA);
    expect(t.ok && t.memoryType).toBe("WC");
  });

  it("§11.5.3 CR0.CD=1 makes every access UC", async () => {
    const e = await mapped();
    e.pt.map(VA2M, PA2M, {}, "2M");
    expect(e.cpu.writeCr0(RESET_CR0 | (1n << 30n))).toBeNull();
    const a = e.cpu.translate(VA);
    const b = e.cpu.translate(VA2M);
    expect([a.ok && a.memoryType, b.ok && b.memoryType]).toEqual(["UC", "UC"]);
  });
});

describe("§4.5 CR3 low bits and counters", () => {
  it("§4.5 CR3 PWT/PCD bits and a PCID do not change the PML4 base", async () => {
    const e = await mapped();
    const base = e.pt.root + BigInt(idx(VA, 4) * 8);
    expect(e.cpu.writeCr3(e.pt.root | 0x18n)).toBeNull();
    let w = e.cpu.walk(VA + 4n);
    expect([paddr(w), w.levels[0].entryAddress]).toEqual([PA + 4n, base]);
    expect(e.cpu.writeCr3(e.pt.root)).toBeNull();
    setCr4(e, CR4_PCIDE);
    expect(e.cpu.writeCr3(e.pt.root | 0xabcn)).toBeNull();
    w = e.cpu.walk(VA + 4n);
    expect([paddr(w), w.levels[0].entryAddress]).toEqual([PA + 4n, base]);
  });

  it.each([
    [4, "4K", 4], [4, "2M", 3], [4, "1G", 2], [5, "4K", 5], [5, "2M", 4], [5, "1G", 3],
  ] as const)("counters: paging %i, %s leaf: walk_mem_ref +%i, one start, one completion", async (paging, size, n) => {
    const refs = BigInt(n);
    const e = await env({ paging });
    const va = { "4K": VA, "2M": VA2M, "1G": VA1G }[size];
    e.pt.map(va, { "4K": PA, "2M": PA2M, "1G": PA1G }[size], { write: true }, size);
    const [t, d] = counted(e, () => e.cpu.translate(va, { kind: "write" }));
    expect(t.ok).toBe(true);
    expect(d).toEqual({ walk_started: 1n, walk_mem_ref: refs, walk_completed: 1n, ad_accessed_set: refs, ad_dirty_set: 1n });
  });

  it("counters accumulate exactly over several walks of mixed outcome", async () => {
    const e = await mapped({ user: true });
    const opts: AccessOptions[] = [{ kind: "read", cpl: 3 }, { kind: "write", cpl: 3 }, { kind: "read" }];
    const [, d] = counted(e, () => {
      for (const o of opts) e.cpu.translate(VA, o);
      e.cpu.translate(VA + 0x1000n);
      e.cpu.translate(0x8000_0000_0000n);
    });
    expect(d).toEqual({
      walk_started: 4n, walk_mem_ref: 16n, walk_completed: 2n, fault_pf: 2n, fault_pf_prot: 1n, fault_pf_not_present: 1n,
      fault_gp: 1n, ad_accessed_set: 4n,
    });
  });
});
