// One list of counters (cf. blink's stats.inc): the enum and its name table side by side.
//
// Owns: the counter blocks, one per CPU, one for accesses the host makes itself (the block
// after the last CPU's), and a scratch block after that which side-effect-free probes count into. Each block is COUNTER_STRIDE bytes of u64; the host reads them
// through one BigUint64Array view and takes the names from COUNTER_NAMES below, so the list
// exists exactly once.

export const enum Counter {
  WALK_STARTED,          // translations that began a page walk
  WALK_MEM_REF,          // paging-structure entries read by walks
  WALK_COMPLETED,        // walks that produced a translation
  WALK_RESTART,          // walks restarted because an entry changed under an A/D update
  FAULT_GP,              // #GP(0): non-canonical linear address
  FAULT_PF,              // #PF of any kind
  FAULT_PF_NOT_PRESENT,  // #PF with P=0 in the error code
  FAULT_PF_RSVD,         // #PF with RSVD=1
  FAULT_PF_PROT,         // #PF for U/S, R/W, XD, SMEP, SMAP or WP
  FAULT_PF_PK,           // #PF with PK=1
  AD_ACCESSED_SET,       // entries whose A bit a walk set
  AD_DIRTY_SET,          // leaves whose D bit a walk set
  PHYS_READ_OOB,         // physical reads beyond RAM (read as all ones)
  PHYS_WRITE_OOB,        // physical writes beyond RAM (dropped)
  PHYS_READ_UNBACKED,    // tables-only mode: reads of frames without bytes (read as zero)
  PHYS_WRITE_UNBACKED,   // tables-only mode: writes to frames without bytes (dropped)
  CR_WRITE_EXCEPTION,    // MOV to CR / WRMSR refused with #GP, WRPKRU with #UD
  BUDDY_ALLOC,           // blocks handed out by the buddy allocator
  BUDDY_ALLOC_FAIL,      // allocations no allowed zone could meet
  BUDDY_FREE,            // blocks freed
  BUDDY_FREE_ERROR,      // frees refused: double free, not a head, wrong order, …
  BUDDY_SPLIT,           // block halvings on allocation (expand)
  BUDDY_MERGE,           // buddy merges on free
  COUNT
}

/** Names in enum order, newline-separated: `<unit>_<event>`, as /proc/vmstat prints them. */
// One literal (not a concatenation) so it lives in static data, no allocation at start-up.
export const COUNTER_NAMES: string = "walk_started\nwalk_mem_ref\nwalk_completed\nwalk_restart\nfault_gp\nfault_pf\nfault_pf_not_present\nfault_pf_rsvd\nfault_pf_prot\nfault_pf_pk\nad_accessed_set\nad_dirty_set\nphys_read_oob\nphys_write_oob\nphys_read_unbacked\nphys_write_unbacked\ncr_write_exception\nbuddy_alloc\nbuddy_alloc_fail\nbuddy_free\nbuddy_free_error\nbuddy_split\nbuddy_merge";

/** Bytes per counter block; room to grow without moving the host's view math. */
@inline export const COUNTER_STRIDE: u32 = 256 * 8;

/** Base of all counter blocks; set once by init. */
export let counterBase: usize = 0;

export function counterSetup(base: usize): void {
  counterBase = base;
}

/** The counter block of CPU `cpu` (or the host block when cpu == number of CPUs). */
@inline export function counterBlock(cpu: u32): usize {
  return counterBase + <usize>cpu * COUNTER_STRIDE;
}

@inline export function count(block: usize, c: Counter): void {
  const p = block + (<usize>c << 3);
  store<u64>(p, load<u64>(p) + 1);
}

@inline export function countN(block: usize, c: Counter, n: u64): void {
  const p = block + (<usize>c << 3);
  store<u64>(p, load<u64>(p) + n);
}
