/**
 * The host's names for x86-64 paging-structure entries, access flags and registers, every value
 * taken from the core (src/abi/core.generated.ts, generated from assembly/ at build time): bit
 * numbers as PAGE_BIT_*, 64-bit masks as PAGE_* bigints, and — for the kernel model's hot loops,
 * which hold a PTE as two 32-bit halves to avoid a BigInt per entry — helpers on those halves
 * (pte*). Linux's names (arch/x86/include/asm/pgtable_types.h) throughout; one spelling each.
 *
 *   lo (bits 31:0)                                hi (bits 63:32)
 *   pfn[19:0] << 12 | SOFTW3 SOFTW1 G PS D A PCD PWT U RW P     NX | PKEY | pfn[39:20]
 */
import * as A from "../abi/core.generated.js";

export const {
  PAGE_BIT_PRESENT, PAGE_BIT_RW, PAGE_BIT_USER, PAGE_BIT_PWT, PAGE_BIT_PCD, PAGE_BIT_ACCESSED, PAGE_BIT_DIRTY,
  PAGE_BIT_PSE, PAGE_BIT_PAT, PAGE_BIT_GLOBAL, PAGE_BIT_PAT_LARGE, PAGE_BIT_PKEY0, PAGE_BIT_NX,
  PAGE_BIT_SPECIAL, PAGE_BIT_SOFT_DIRTY, PAGE_BIT_PROTNONE, PAGE_BIT_SWP_EXCLUSIVE, PAGE_BIT_SWP_SOFT_DIRTY,
  PAGE_SHIFT, PTRS_SHIFT, PTRS_PER_TABLE, PMD_SHIFT, PUD_SHIFT, PTE_ADDR_FIELD, MAX_LEVELS,
  SWP_TYPE_BITS, SWP_OFFSET_FIRST_BIT, SWP_OFFSET_SHIFT,
} = A;

const bit = (b: number): bigint => 1n << BigInt(b);
export const PAGE_PRESENT = bit(PAGE_BIT_PRESENT);
export const PAGE_RW = bit(PAGE_BIT_RW);
export const PAGE_USER = bit(PAGE_BIT_USER);
export const PAGE_PWT = bit(PAGE_BIT_PWT);
export const PAGE_PCD = bit(PAGE_BIT_PCD);
export const PAGE_ACCESSED = bit(PAGE_BIT_ACCESSED);
export const PAGE_DIRTY = bit(PAGE_BIT_DIRTY);
export const PAGE_PSE = bit(PAGE_BIT_PSE);
export const PAGE_PAT = bit(PAGE_BIT_PAT);
export const PAGE_GLOBAL = bit(PAGE_BIT_GLOBAL);
export const PAGE_PAT_LARGE = bit(PAGE_BIT_PAT_LARGE);
export const PAGE_PKEY_MASK = 0xfn << BigInt(PAGE_BIT_PKEY0);
export const PAGE_NX = bit(PAGE_BIT_NX);
/** _PAGE_SPECIAL: the zero page and other frames with no page to count. */
export const PAGE_SPECIAL = bit(PAGE_BIT_SPECIAL);
/** _PAGE_PROTNONE (= G): a PROT_NONE page is P=0 with this bit, its frame still mapped. */
export const PAGE_PROTNONE = bit(PAGE_BIT_PROTNONE);
export const PAGE_SOFT_DIRTY = bit(PAGE_BIT_SOFT_DIRTY);
/** _PAGE_TABLE: user entries above the leaves (P RW US A D). */
export const PAGE_TABLE = PAGE_PRESENT | PAGE_RW | PAGE_USER | PAGE_ACCESSED | PAGE_DIRTY;

export const PAGE_SIZE = 1 << PAGE_SHIFT;
const U64 = (1n << 64n) - 1n;

/** Address shift of the region an entry at `level` maps: 12, 21, 30, 39, 48. */
export function levelShift(level: number): number {
  return PAGE_SHIFT + PTRS_SHIFT * (level - 1);
}

/** Index of `va` in the table at `level`. */
export function levelIndex(va: bigint, level: number): number {
  return Number((va >> BigInt(levelShift(level))) & BigInt(PTRS_PER_TABLE - 1));
}

/** Mask of physical-address bits M-1:0. */
export function physMask(maxPhyAddr: number): bigint {
  return (1n << BigInt(maxPhyAddr)) - 1n;
}

/** Sign-extend a linear address from bit 47 (4-level) or 56 (5-level): the canonical form. */
export function canonicalize(va: bigint, levels: 4 | 5): bigint {
  const bits = BigInt(levelShift(levels) + PTRS_SHIFT);
  const v = va & ((1n << bits) - 1n);
  return (v & (1n << (bits - 1n))) !== 0n ? (v | (U64 ^ ((1n << bits) - 1n))) : v;
}

export const INTEL_LEVEL_NAMES = ["", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"] as const;
export const LINUX_LEVEL_NAMES_4 = ["", "pte", "pmd", "pud", "pgd", "pgd"] as const;
export const LINUX_LEVEL_NAMES_5 = ["", "pte", "pmd", "pud", "p4d", "pgd"] as const;

// ---- a PTE as two 32-bit halves (lo = bits 31:0, hi = bits 63:32) ----------------------------
// The kernel model reads and writes PTEs through a Uint32Array of linear memory; these helpers
// are its only spelling of the bits. Numbers, not BigInts: the fault, fork and exit paths touch
// millions of entries.

/** Bits of the low half. */
export const PTE_PRESENT = 1 << PAGE_BIT_PRESENT;
export const PTE_RW = 1 << PAGE_BIT_RW;
export const PTE_USER = 1 << PAGE_BIT_USER;
export const PTE_ACCESSED = 1 << PAGE_BIT_ACCESSED;
export const PTE_DIRTY = 1 << PAGE_BIT_DIRTY;
export const PTE_PSE = 1 << PAGE_BIT_PSE;
export const PTE_PROTNONE = 1 << PAGE_BIT_PROTNONE;
export const PTE_SPECIAL = 1 << PAGE_BIT_SPECIAL;
export const PTE_SWP_EXCLUSIVE = 1 << PAGE_BIT_SWP_EXCLUSIVE;
/** NX in the high half. */
export const PTE_HI_NX = (1 << (PAGE_BIT_NX - 32)) >>> 0;
/** _PAGE_TABLE in the low half. */
export const PTE_TABLE = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY;
/** Frame-number bits of the high half (pfn bits 39:20). */
const HI_PFN_MASK = Number((PTE_ADDR_FIELD >> 32n) & 0xffff_ffffn);
const TWO20 = 0x10_0000;
// A swap entry's offset field, bits 58:9, as halves: 23 bits in lo, 27 in hi.
const TWO23 = 0x80_0000;
const LOW23 = TWO23 - 1;
const HIGH27 = 0x7ff_ffff;

/** pte_none: nothing at all (not even a swap entry). */
export function pteNone(lo: number, hi: number): boolean {
  return (lo | hi) === 0;
}

/** The PTE maps a frame: present, or PROT_NONE (P=0 with the PROTNONE bit, frame kept). */
export function pteMapsFrame(lo: number): boolean {
  return (lo & (PTE_PRESENT | PTE_PROTNONE)) !== 0;
}

/** pte_pfn of a frame-mapping PTE. */
export function ptePfn(lo: number, hi: number): number {
  return (lo >>> PAGE_SHIFT) + (hi & HI_PFN_MASK) * TWO20;
}

/** The low half of mk_pte(pfn, flags): the pfn's low 20 bits above the flag bits. */
export function pteLo(pfn: number, flags: number): number {
  return ((pfn % TWO20) * PAGE_SIZE + flags) >>> 0;
}

/** The high half of mk_pte(pfn, flags): pfn bits 39:20 and the high flags (NX). */
export function pteHi(pfn: number, highFlags: number): number {
  return (Math.floor(pfn / TWO20) + highFlags) >>> 0;
}

/** pte_young (A). */
export function pteYoung(lo: number): boolean {
  return (lo & PTE_ACCESSED) !== 0;
}

/** pte_dirty (D). */
export function pteDirty(lo: number): boolean {
  return (lo & PTE_DIRTY) !== 0;
}

/** pte_write (R/W). */
export function pteWrite(lo: number): boolean {
  return (lo & PTE_RW) !== 0;
}

/** pte_special: no page behind it to count (the zero page). */
export function pteSpecial(lo: number): boolean {
  return (lo & PTE_SPECIAL) !== 0;
}

/** A leaf above the PTE level (PS set in a present PMD/PUD entry). */
export function pteHuge(lo: number): boolean {
  return (lo & (PTE_PRESENT | PTE_PSE)) === (PTE_PRESENT | PTE_PSE);
}

/** is_swap_pte: not present, not PROT_NONE, not empty — a swap entry (or another non-present entry). */
export function pteIsSwap(lo: number, hi: number): boolean {
  return !pteMapsFrame(lo) && (lo | hi) !== 0;
}

/**
 * __swp_entry → swp_entry_to_pte as halves: type in bits 63:59, ~offset in bits 58:9, and
 * _PAGE_SWP_EXCLUSIVE when `exclusive` (arch/x86/include/asm/pgtable_64.h).
 * @param offset swap slot, below 2^50
 */
export function swapPte(type: number, offset: number, exclusive = false): { lo: number; hi: number } {
  // ~offset fills bits 58:9: its low 23 bits go to lo bits 31:9, the next 27 to hi bits 26:0.
  const low = (offset % TWO23) ^ LOW23;
  const high = (Math.floor(offset / TWO23) ^ HIGH27) & HIGH27;
  return { lo: ((low << SWP_OFFSET_FIRST_BIT) | (exclusive ? PTE_SWP_EXCLUSIVE : 0)) >>> 0, hi: ((type << (32 - SWP_TYPE_BITS)) | high) >>> 0 };
}

/** __swp_type of a swap PTE. */
export function swapPteType(hi: number): number {
  return hi >>> (32 - SWP_TYPE_BITS);
}

/** __swp_offset of a swap PTE: ~pte << SWP_TYPE_BITS >> SWP_OFFSET_SHIFT. */
export function swapPteOffset(lo: number, hi: number): number {
  return ((hi & HIGH27) ^ HIGH27) * TWO23 + (((lo >>> SWP_OFFSET_FIRST_BIT) ^ LOW23) & LOW23);
}

// ---- access flags, status, exceptions, registers ---------------------------------------------

export const { ACC_WRITE, ACC_FETCH, ACC_USER, ACC_IMPLICIT, ACC_PROBE } = A;
export const { XLAT_OK, XLAT_PF, XLAT_GP } = A;
export const { X86_PF_PROT, X86_PF_WRITE, X86_PF_USER, X86_PF_RSVD, X86_PF_INSTR, X86_PF_PK } = A;
export const { CR0_WP, CR0_PG, CR3_NOFLUSH, CR4_PSE, CR4_PAE, CR4_PGE, CR4_LA57, CR4_PCIDE, CR4_SMEP, CR4_SMAP, CR4_PKE, EFER_NXE, RFLAGS_AC } = A;
export const { RIGHT_WRITE, RIGHT_USER, RIGHT_NX, RIGHT_GLOBAL, RIGHT_DIRTY, RIGHT_PKEY_SHIFT } = A;

/** CPUID feature bits as init() takes them (assembly/arch/x86/regs.ts FEAT_*). */
export const FEATURE_BITS = {
  la57: A.FEAT_LA57,
  pcid: A.FEAT_PCID,
  smep: A.FEAT_SMEP,
  smap: A.FEAT_SMAP,
  pku: A.FEAT_PKU,
  nx: A.FEAT_NX,
  page1gb: A.FEAT_PAGE1GB,
  pge: A.FEAT_PGE,
} as const;

/** Memory-type encodings (SDM Table 11-10). */
export const MEMORY_TYPES: Readonly<Record<number, "UC" | "WC" | "WT" | "WP" | "WB" | "UC-">> = {
  [A.MEMTYPE_UC]: "UC", [A.MEMTYPE_WC]: "WC", [A.MEMTYPE_WT]: "WT", [A.MEMTYPE_WP]: "WP", [A.MEMTYPE_WB]: "WB", [A.MEMTYPE_UC_MINUS]: "UC-",
};
