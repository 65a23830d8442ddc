// EPT (extended page tables): entry bits, the EPT pointer, VM-exit reasons and the exit
// qualification of an EPT violation. Bits only; the EPT walk is mmu/ept.ts.
//
// Owns: every EPT bit and field. Follows Intel SDM Vol. 3C (numbering of the 2023+ editions,
// older editions one lower): §29.3.2 the EPT translation mechanism and Tables 29-1…29-7 (entry
// formats), §29.3.3 EPT-induced VM exits, §29.3.5 accessed and dirty flags for EPT, §29.3.7
// memory type, §25.6.11 the EPT pointer, Table 28-7 the exit qualification for EPT violations.
//
//   EPT paging-structure entry (4-level or 5-level EPT):
//   63   62:52    51:N     N-1:12          11  10  9  8  7    6     5:3     2 1 0
//  +----+-------+---------+---------------+---+---+--+--+----+-----+-------+-+-+-+
//  |SVE | ignrd | rsvd(0) | frame address |ign|UX |D |A |PS  |IPAT |memtype|X|W|R|
//  +----+-------+---------+---------------+---+---+--+--+----+-----+-------+-+-+-+
//  Non-leaf entries: bits 7:3 reserved (6:3 in a PDPTE or PDE, whose bit 7 is PS), D ignored.
//  Leaves (PTE, or PDPTE/PDE with PS=1): memtype and IPAT; bits 29:12 (1 GiB) or 20:12 (2 MiB)
//  reserved. A/D are ignored unless EPTP bit 6 enables them; UX (execute for user-mode linear
//  addresses) is ignored unless mode-based execute control is on. SVE (suppress #VE) is ignored:
//  #VE is not modelled.

@inline export const EPT_BIT_READ: u32 = 0;        // R: reads allowed
@inline export const EPT_BIT_WRITE: u32 = 1;       // W: writes allowed
@inline export const EPT_BIT_EXEC: u32 = 2;        // X: fetches allowed (supervisor-mode addresses with MBEC)
@inline export const EPT_BIT_MEMTYPE: u32 = 3;     // bits 5:3 of a leaf: EPT memory type
@inline export const EPT_BIT_IGNORE_PAT: u32 = 6;  // IPAT: use the EPT memory type alone
@inline export const EPT_BIT_LARGE: u32 = 7;       // PS: leaf at PDPTE (1 GiB) or PDE (2 MiB)
@inline export const EPT_BIT_ACCESSED: u32 = 8;    // A (EPTP bit 6 = 1)
@inline export const EPT_BIT_DIRTY: u32 = 9;       // D in a leaf (EPTP bit 6 = 1)
@inline export const EPT_BIT_USER_EXEC: u32 = 10;  // UX: fetches from user-mode addresses (MBEC)

@inline export const EPT_READ: u64 = 1 << EPT_BIT_READ;
@inline export const EPT_WRITE: u64 = 1 << EPT_BIT_WRITE;
@inline export const EPT_EXEC: u64 = 1 << EPT_BIT_EXEC;
@inline export const EPT_RWX: u64 = EPT_READ | EPT_WRITE | EPT_EXEC;
@inline export const EPT_MEMTYPE_MASK: u64 = 7 << EPT_BIT_MEMTYPE;
@inline export const EPT_IGNORE_PAT: u64 = 1 << EPT_BIT_IGNORE_PAT;
@inline export const EPT_LARGE: u64 = 1 << EPT_BIT_LARGE;
@inline export const EPT_ACCESSED: u64 = 1 << EPT_BIT_ACCESSED;
@inline export const EPT_DIRTY: u64 = 1 << EPT_BIT_DIRTY;
@inline export const EPT_USER_EXEC: u64 = 1 << EPT_BIT_USER_EXEC;
/** Bits 7:3: reserved in a PML5E or PML4E, and (with PS=0) in a PDPTE or PDE (§29.3.2, Tables 29-1…29-6). */
@inline export const EPT_NONLEAF_RESERVED: u64 = 0xf8;

// The EPT pointer (VMCS field, §25.6.11).
@inline export const EPTP_MEMTYPE_MASK: u64 = 7;        // bits 2:0: memory type of EPT paging-structure accesses (UC 0 or WB 6)
@inline export const EPTP_WALK_SHIFT: u32 = 3;          // bits 5:3: page-walk length minus 1 (3: 4-level, 4: 5-level)
@inline export const EPTP_WALK_MASK: u64 = 7 << EPTP_WALK_SHIFT;
@inline export const EPTP_AD: u64 = 1 << 6;             // bit 6: accessed and dirty flags for EPT
@inline export const EPTP_RESERVED_LOW: u64 = 0xf80;    // bits 11:7 (bit 7, supervisor shadow stacks, not modelled)

// VM-exit basic reasons (SDM Vol. 3D Appendix C).
@inline export const EXIT_REASON_NONE: u32 = 0;        // no exit recorded (reason 0, exception or NMI, is not modelled)
@inline export const EXIT_REASON_EPT_VIOLATION: u32 = 48;
@inline export const EXIT_REASON_EPT_MISCONFIG: u32 = 49;

// Exit qualification of an EPT violation (Table 28-7).
@inline export const EPT_QUAL_READ: u64 = 1 << 0;          // a data read caused it
@inline export const EPT_QUAL_WRITE: u64 = 1 << 1;         // a data write caused it (both 0 and 1: a guest paging-structure access with EPT A/D on)
@inline export const EPT_QUAL_FETCH: u64 = 1 << 2;         // an instruction fetch caused it
@inline export const EPT_QUAL_READABLE: u64 = 1 << 3;      // AND of bit 0 (R) over the EPT entries used
@inline export const EPT_QUAL_WRITABLE: u64 = 1 << 4;      // AND of bit 1 (W)
@inline export const EPT_QUAL_EXECUTABLE: u64 = 1 << 5;    // AND of bit 2 (X; supervisor-mode X with MBEC)
@inline export const EPT_QUAL_USER_EXEC: u64 = 1 << 6;     // AND of bit 10 (UX) with MBEC, else 0
@inline export const EPT_QUAL_GLA_VALID: u64 = 1 << 7;     // the guest linear-address field is valid
@inline export const EPT_QUAL_GLA_XLAT: u64 = 1 << 8;      // 1: the access was to the translation of the linear address; 0: to a guest paging-structure entry
@inline export const EPT_QUAL_GLA_USER: u64 = 1 << 9;      // with bit 8 (advanced VM-exit information): a user-mode linear address
@inline export const EPT_QUAL_GLA_WRITABLE: u64 = 1 << 10; // with bit 8: the linear address is writable (R/W=1 at every level)
@inline export const EPT_QUAL_GLA_NX: u64 = 1 << 11;       // with bit 8: the linear address is execute-disable

// EPT access kinds (the walk's `acc`).
@inline export const EPT_ACC_READ: u32 = 1;
@inline export const EPT_ACC_WRITE: u32 = 2;
@inline export const EPT_ACC_FETCH: u32 = 4;

/** Page shift of the EPT level `level` (1: 12, 2: 21, 3: 30, 4: 39, 5: 48). */
@inline export function eptLevelShift(level: u32): u32 {
  return 12 + 9 * (level - 1);
}

/**
 * Reserved bits of an EPT entry at `level` besides 51:MAXPHYADDR (§29.3.2, Tables 29-1…29-6):
 * bits 7:3 in a PML5E/PML4E and in a non-leaf PDPTE/PDE; bits 29:12 of a 1 GiB leaf and 20:12 of
 * a 2 MiB leaf; none in a PTE.
 */
@inline export function eptLevelReserved(entry: u64, level: u32): u64 {
  if (level >= 4) return EPT_NONLEAF_RESERVED;
  if (level == 1) return 0;
  if ((entry & EPT_LARGE) == 0) return EPT_NONLEAF_RESERVED & ~EPT_LARGE;
  return ((<u64>1 << eptLevelShift(level)) - 1) & ~(<u64>0xfff);
}
