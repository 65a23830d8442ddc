/**
 * Host-side names for x86-64 paging-structure entries and access flags, mirroring
 * assembly/arch/x86/pgtable.ts, assembly/mmu/walk.ts and assembly/arch/x86/regs.ts (a test checks
 * every value against the core's exports). Used to build page tables and to decode walks.
 */

export const PAGE_BIT_PRESENT = 0;
export const PAGE_BIT_RW = 1;
export const PAGE_BIT_USER = 2;
export const PAGE_BIT_PWT = 3;
export const PAGE_BIT_PCD = 4;
export const PAGE_BIT_ACCESSED = 5;
export const PAGE_BIT_DIRTY = 6;
export const PAGE_BIT_PSE = 7;
export const PAGE_BIT_PAT = 7;
export const PAGE_BIT_GLOBAL = 8;
export const PAGE_BIT_PAT_LARGE = 12;
export const PAGE_BIT_PKEY0 = 59;
export const PAGE_BIT_NX = 63;

export const PAGE_PRESENT = 1n << BigInt(PAGE_BIT_PRESENT);
export const PAGE_RW = 1n << BigInt(PAGE_BIT_RW);
export const PAGE_USER = 1n << BigInt(PAGE_BIT_USER);
export const PAGE_PWT = 1n << BigInt(PAGE_BIT_PWT);
export const PAGE_PCD = 1n << BigInt(PAGE_BIT_PCD);
export const PAGE_ACCESSED = 1n << BigInt(PAGE_BIT_ACCESSED);
export const PAGE_DIRTY = 1n << BigInt(PAGE_BIT_DIRTY);
export const PAGE_PSE = 1n << BigInt(PAGE_BIT_PSE);
export const PAGE_PAT = 1n << BigInt(PAGE_BIT_PAT);
export const PAGE_GLOBAL = 1n << BigInt(PAGE_BIT_GLOBAL);
export const PAGE_PAT_LARGE = 1n << BigInt(PAGE_BIT_PAT_LARGE);
export const PAGE_PKEY_MASK = 0xfn << BigInt(PAGE_BIT_PKEY0);
export const PAGE_NX = 1n << BigInt(PAGE_BIT_NX);

export const PAGE_SHIFT = 12;
export const PTRS_SHIFT = 9;
export const PTRS_PER_TABLE = 1 << PTRS_SHIFT;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Bits 51:12 of an entry: the frame-address field before the MAXPHYADDR cut. */
export const PTE_ADDR_FIELD = 0x000f_ffff_ffff_f000n;
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

// Access flags of the core's translate() (assembly/mmu/walk.ts ACC_*).
export const ACC_WRITE = 1 << 0;
export const ACC_FETCH = 1 << 1;
export const ACC_USER = 1 << 2;
export const ACC_IMPLICIT = 1 << 3;
export const ACC_PROBE = 1 << 4;

// Translation status (assembly/arch/x86/fault.ts XLAT_*).
export const XLAT_OK = 0;
export const XLAT_PF = 1;
export const XLAT_GP = 2;

// #PF error-code bits (SDM §4.7; Linux X86_PF_*).
export const X86_PF_PROT = 1 << 0;
export const X86_PF_WRITE = 1 << 1;
export const X86_PF_USER = 1 << 2;
export const X86_PF_RSVD = 1 << 3;
export const X86_PF_INSTR = 1 << 4;
export const X86_PF_PK = 1 << 5;

// Registers (SDM §2.5).
export const CR0_WP = 1n << 16n;
export const CR0_PG = 1n << 31n;
export const CR4_PSE = 1n << 4n;
export const CR4_PAE = 1n << 5n;
export const CR4_PGE = 1n << 7n;
export const CR4_LA57 = 1n << 12n;
export const CR4_PCIDE = 1n << 17n;
export const CR4_SMEP = 1n << 20n;
export const CR4_SMAP = 1n << 21n;
export const CR4_PKE = 1n << 22n;
export const EFER_NXE = 1n << 11n;
export const RFLAGS_AC = 1n << 18n;

/** CPUID feature bits as init() takes them (assembly/arch/x86/regs.ts FEAT_*). */
export const FEATURE_BITS = {
  la57: 1 << 0,
  pcid: 1 << 1,
  smep: 1 << 2,
  smap: 1 << 3,
  pku: 1 << 4,
  nx: 1 << 5,
  page1gb: 1 << 6,
  pge: 1 << 7,
} as const;

/** Memory-type encodings (SDM Table 11-10). */
export const MEMORY_TYPES: Readonly<Record<number, "UC" | "WC" | "WT" | "WP" | "WB" | "UC-">> = {
  0: "UC", 1: "WC", 4: "WT", 5: "WP", 6: "WB", 7: "UC-",
};
