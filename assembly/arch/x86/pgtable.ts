// x86-64 paging-structure entries: bit names, shifts and masks.
//
// Owns: every PTE bit and every level geometry constant. No other file spells 12, 9, 39, 511
// or 0xfff for paging purposes. Follows Intel SDM Vol. 3A §4.5 (Tables 4-14 … 4-20) and
// Linux arch/x86/include/asm/pgtable_types.h for the names.
//
//   63  62:59  58:52   51:M      M-1:12          11:9  8  7    6  5  4   3   2   1  0
//  +---+------+-------+---------+---------------+-----+--+----+--+--+---+---+---+--+--+
//  |XD | PKEY | ignrd | rsvd(0) | frame address | ign |G |PS/ |D |A |PCD|PWT|U/S|RW|P |
//  |   |(leaf)|       |         |               |     |  |PAT |  |  |   |   |   |  |  |
//  +---+------+-------+---------+---------------+-----+--+----+--+--+---+---+---+--+--+
//  In a 2 MiB / 1 GiB leaf, bit 7 is PS and PAT moves to bit 12; bits 20:13 (2 MiB) or
//  29:13 (1 GiB) below the frame address are reserved.

@inline export const PAGE_BIT_PRESENT: u32 = 0;   // P: entry maps something
@inline export const PAGE_BIT_RW: u32 = 1;        // R/W: writes allowed (with WP rules)
@inline export const PAGE_BIT_USER: u32 = 2;      // U/S: user-mode accesses allowed
@inline export const PAGE_BIT_PWT: u32 = 3;       // page-level write-through (PAT index bit 0)
@inline export const PAGE_BIT_PCD: u32 = 4;       // page-level cache disable (PAT index bit 1)
@inline export const PAGE_BIT_ACCESSED: u32 = 5;  // A: set by the walker on use
@inline export const PAGE_BIT_DIRTY: u32 = 6;     // D: set in the leaf on a write
@inline export const PAGE_BIT_PSE: u32 = 7;       // PS: leaf at PDPTE/PDE level
@inline export const PAGE_BIT_PAT: u32 = 7;       // PAT index bit 2, 4 KiB PTE only
@inline export const PAGE_BIT_GLOBAL: u32 = 8;    // G: survives CR3 loads when CR4.PGE=1
@inline export const PAGE_BIT_PAT_LARGE: u32 = 12; // PAT index bit 2 in 2 MiB / 1 GiB leaves
@inline export const PAGE_BIT_PKEY0: u32 = 59;    // protection key, bits 62:59 of a leaf
@inline export const PAGE_BIT_NX: u32 = 63;       // XD: no instruction fetch (EFER.NXE=1)

// Bits the MMU ignores, as Linux x86-64 uses them (pgtable_types.h). The core never reads them;
// they are declared here so that the host's PTE helpers (src/abi) come from this one table.
@inline export const PAGE_BIT_SOFTW1: u32 = 9;    // _PAGE_BIT_SPECIAL: maps a frame with no page to count (the zero page)
@inline export const PAGE_BIT_SOFTW3: u32 = 11;   // _PAGE_BIT_SOFT_DIRTY (off in the reference kernel)
@inline export const PAGE_BIT_SPECIAL: u32 = PAGE_BIT_SOFTW1;
@inline export const PAGE_BIT_SOFT_DIRTY: u32 = PAGE_BIT_SOFTW3;
/** _PAGE_BIT_PROTNONE: in a PTE with P=0, G marks a PROT_NONE page whose frame is still mapped. */
@inline export const PAGE_BIT_PROTNONE: u32 = PAGE_BIT_GLOBAL;

// A swap entry in a non-present PTE (arch/x86/include/asm/pgtable_64.h, __swp_entry): the type in
// bits 63:59, the offset inverted (~offset) in bits 58:9 — inverted so that a stale non-present
// PTE never points at real memory (L1TF). Bits 1–4 carry flags: _PAGE_SWP_EXCLUSIVE is bit 3
// (PG_anon_exclusive remembered across swap), _PAGE_SWP_SOFT_DIRTY bit 1.
//
//   63     59 58                                   9  8  7 … 4  3  2  1  0
//  +---------+--------------------------------------+--+--------+--+--+--+--+
//  |  type   |              ~offset                 |0 |   0    |E |0 |SD|0 |
//  +---------+--------------------------------------+--+--------+--+--+--+--+
@inline export const SWP_TYPE_BITS: u32 = 5;
@inline export const SWP_OFFSET_FIRST_BIT: u32 = PAGE_BIT_PROTNONE + 1;        // 9
@inline export const SWP_OFFSET_SHIFT: u32 = SWP_OFFSET_FIRST_BIT + SWP_TYPE_BITS;  // 14
@inline export const PAGE_BIT_SWP_EXCLUSIVE: u32 = PAGE_BIT_PWT;
@inline export const PAGE_BIT_SWP_SOFT_DIRTY: u32 = PAGE_BIT_RW;

@inline export const PAGE_PRESENT: u64 = 1 << PAGE_BIT_PRESENT;
@inline export const PAGE_RW: u64 = 1 << PAGE_BIT_RW;
@inline export const PAGE_USER: u64 = 1 << PAGE_BIT_USER;
@inline export const PAGE_PWT: u64 = 1 << PAGE_BIT_PWT;
@inline export const PAGE_PCD: u64 = 1 << PAGE_BIT_PCD;
@inline export const PAGE_ACCESSED: u64 = 1 << PAGE_BIT_ACCESSED;
@inline export const PAGE_DIRTY: u64 = 1 << PAGE_BIT_DIRTY;
@inline export const PAGE_PSE: u64 = 1 << PAGE_BIT_PSE;
@inline export const PAGE_PAT: u64 = 1 << PAGE_BIT_PAT;
@inline export const PAGE_GLOBAL: u64 = 1 << PAGE_BIT_GLOBAL;
@inline export const PAGE_PAT_LARGE: u64 = 1 << PAGE_BIT_PAT_LARGE;
@inline export const PAGE_PKEY_MASK: u64 = <u64>0xf << PAGE_BIT_PKEY0;
@inline export const PAGE_NX: u64 = <u64>1 << PAGE_BIT_NX;

// Geometry. A level is numbered as Linux counts page-table depth from the leaf:
// 1 = PTE (PT), 2 = PMD (PD), 3 = PUD (PDPT), 4 = P4D/PGD (PML4), 5 = PGD (PML5).
@inline export const PAGE_SHIFT: u32 = 12;               // 4 KiB
@inline export const PMD_SHIFT: u32 = 21;                // 2 MiB
@inline export const PUD_SHIFT: u32 = 30;                // 1 GiB
@inline export const P4D_SHIFT: u32 = 39;                // 512 GiB
@inline export const PML5_SHIFT: u32 = 48;               // 256 TiB
@inline export const PTRS_SHIFT: u32 = 9;                // 512 entries per table
@inline export const PTRS_PER_TABLE: u32 = 1 << PTRS_SHIFT;
@inline export const PTE_INDEX_MASK: u64 = PTRS_PER_TABLE - 1;
@inline export const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
@inline export const PAGE_OFFSET_MASK: u64 = PAGE_SIZE - 1;
@inline export const ENTRY_SIZE: u32 = 8;                // bytes per paging-structure entry
@inline export const ENTRY_SHIFT: u32 = 3;
@inline export const MAX_LEVELS: u32 = 5;

/** Bits 51:12 of an entry: the architectural frame-address field (before the MAXPHYADDR cut). */
@inline export const PTE_ADDR_FIELD: u64 = 0x000f_ffff_ffff_f000;
/** The highest physical-address width the architecture defines (SDM §4.1.4). */
@inline export const PHYS_ADDR_BITS_ARCH: u32 = 52;

/** Address shift of the region one entry at `level` maps (12, 21, 30, 39, 48). */
@inline export function levelShift(level: u32): u32 {
  return PAGE_SHIFT + PTRS_SHIFT * (level - 1);
}

/** Index into the table at `level` for linear address `va` (SDM Figure 4-8/4-9). */
@inline export function levelIndex(va: u64, level: u32): u64 {
  return (va >> levelShift(level)) & PTE_INDEX_MASK;
}

/** Mask of physical-address bits M-1:0 for MAXPHYADDR M. */
@inline export function physMask(maxPhyAddr: u32): u64 {
  return (<u64>1 << maxPhyAddr) - 1;
}

/** Bits 51:M of an entry, which must be zero in every present entry (SDM §4.5, Table 4-15…4-20). */
@inline export function physReservedBits(maxPhyAddr: u32): u64 {
  return PTE_ADDR_FIELD & ~physMask(maxPhyAddr);
}

/** Reserved bits below the frame address of a leaf at `level`: 20:13 for 2 MiB, 29:13 for 1 GiB. */
@inline export function largeLeafReservedBits(level: u32): u64 {
  return ((<u64>1 << levelShift(level)) - 1) & ~(PAGE_PAT_LARGE | (PAGE_SIZE - 1));
}

/** Frame address of a table or leaf at `level` given its entry (bits M-1:shift). */
@inline export function entryFrame(entry: u64, level: u32, maxPhyAddr: u32): u64 {
  return entry & physMask(maxPhyAddr) & ~((<u64>1 << levelShift(level)) - 1);
}

/** Protection key of a leaf entry, bits 62:59 (SDM §4.6.2). */
@inline export function entryPkey(entry: u64): u32 {
  return <u32>((entry & PAGE_PKEY_MASK) >> PAGE_BIT_PKEY0);
}

/** PAT index (PAT:PCD:PWT) of a leaf at `level` (SDM §4.9.2). */
@inline export function entryPatIndex(entry: u64, level: u32): u32 {
  const patBit: u32 = level == 1 ? PAGE_BIT_PAT : PAGE_BIT_PAT_LARGE;
  return (<u32>(entry >> patBit) & 1) << 2 | (<u32>(entry >> PAGE_BIT_PCD) & 1) << 1 | (<u32>(entry >> PAGE_BIT_PWT) & 1);
}
