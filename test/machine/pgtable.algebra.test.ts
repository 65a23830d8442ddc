/**
 * PTE helpers on 32-bit halves, checked as Linux's debug_vm_pgtable.c checks its pte helpers:
 * algebraic round trips (pfn in and out, swap entries in and out) over random values, against a
 * BigInt reference of the same formulas (arch/x86/include/asm/pgtable_64.h __swp_entry).
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  pteLo, pteHi, ptePfn, pteMapsFrame, pteYoung, pteDirty, pteWrite, pteSpecial, pteHuge, pteNone, pteIsSwap,
  swapPte, swapPteType, swapPteOffset, PTE_PRESENT, PTE_RW, PTE_ACCESSED, PTE_DIRTY, PTE_SPECIAL, PTE_PROTNONE, PTE_PSE,
  PTE_HI_NX, PTE_SWP_EXCLUSIVE, PAGE_NX, PAGE_PRESENT, PAGE_PROTNONE, PAGE_BIT_PROTNONE, PAGE_BIT_GLOBAL, SWP_TYPE_BITS,
} from "../../src/machine/pgtable.js";

const SEED = 20261207;
const U64 = (1n << 64n) - 1n;
const join = (p: { lo: number; hi: number }) => (BigInt(p.hi >>> 0) << 32n) | BigInt(p.lo >>> 0);

describe("PTE halves (debug_vm_pgtable-style round trips)", () => {
  it("ptePfn(mk_pte(pfn, flags)) == pfn for every 40-bit pfn, with flags and NX untouched", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), fc.integer({ min: 0, max: 0xfff }), fc.boolean(), (pfn, flags, nx) => {
      const lo = pteLo(pfn, flags);
      const hi = pteHi(pfn, nx ? PTE_HI_NX : 0);
      expect(ptePfn(lo, hi)).toBe(pfn);
      expect(lo & 0xfff).toBe(flags);
      const v = join({ lo, hi });
      expect(v).toBe((BigInt(pfn) << 12n) | BigInt(flags) | (nx ? PAGE_NX : 0n));
    }), { seed: SEED, numRuns: 500 });
  });

  it("flag predicates read exactly their bit", () => {
    expect([pteYoung(PTE_ACCESSED), pteDirty(PTE_DIRTY), pteWrite(PTE_RW), pteSpecial(PTE_SPECIAL)]).toEqual([true, true, true, true]);
    expect([pteYoung(~PTE_ACCESSED), pteDirty(~PTE_DIRTY), pteWrite(~PTE_RW), pteSpecial(~PTE_SPECIAL)]).toEqual([false, false, false, false]);
    expect(pteMapsFrame(PTE_PRESENT)).toBe(true);
    expect(pteMapsFrame(PTE_PROTNONE)).toBe(true); // P=0 but the frame is still there (PROT_NONE)
    expect(pteHuge(PTE_PRESENT | PTE_PSE)).toBe(true);
    expect(pteHuge(PTE_PSE)).toBe(false);
    expect(pteNone(0, 0)).toBe(true);
    expect(PAGE_BIT_PROTNONE).toBe(PAGE_BIT_GLOBAL); // _PAGE_PROTNONE aliases G in non-present PTEs
  });

  it("swap entries: type and offset round-trip, the entry is neither present nor PROT_NONE, and matches __swp_entry", () => {
    const SHIFT = 14n; // SWP_OFFSET_SHIFT = _PAGE_BIT_PROTNONE + 1 + SWP_TYPE_BITS
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** SWP_TYPE_BITS - 1 }), fc.integer({ min: 0, max: 2 ** 50 - 1 }), fc.boolean(), (type, offset, excl) => {
      const p = swapPte(type, offset, excl);
      expect(swapPteType(p.hi)).toBe(type);
      expect(swapPteOffset(p.lo, p.hi)).toBe(offset);
      expect(pteMapsFrame(p.lo)).toBe(false);
      expect(pteIsSwap(p.lo, p.hi)).toBe(true);
      const ref = ((((~BigInt(offset)) << SHIFT) & U64) >> BigInt(SWP_TYPE_BITS)) | (BigInt(type) << BigInt(64 - SWP_TYPE_BITS));
      expect(join(p) & ~BigInt(PTE_SWP_EXCLUSIVE)).toBe(ref);
      expect((join(p) & (PAGE_PRESENT | PAGE_PROTNONE))).toBe(0n);
      expect((p.lo & PTE_SWP_EXCLUSIVE) !== 0).toBe(excl);
    }), { seed: SEED, numRuns: 500 });
  });
});
