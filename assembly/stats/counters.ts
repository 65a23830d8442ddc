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
  ACCESS_LOAD,           // data reads through the TLBs (replay and translateTlb)
  ACCESS_STORE,          // data writes
  ACCESS_FETCH,          // instruction fetches
  TLB_L1D_HIT,           // L1 data TLB hits
  TLB_L1I_HIT,           // L1 instruction TLB hits
  TLB_L1_HIT_4K,         // L1 hits (I or D) by the entry's page size
  TLB_L1_HIT_2M,
  TLB_L1_HIT_1G,
  // Per access kind, in the order load, store, fetch; names as Intel's perf events.
  DTLB_LOAD_STLB_HIT,    // dtlb_load_misses.stlb_hit: L1 miss, second-level hit
  DTLB_LOAD_WALK,        // dtlb_load_misses.miss_causes_a_walk
  DTLB_LOAD_WALK_DONE,   // dtlb_load_misses.walk_completed (a translation was found)
  DTLB_LOAD_WALK_4K,     // dtlb_load_misses.walk_completed_4k
  DTLB_LOAD_WALK_2M,     // dtlb_load_misses.walk_completed_2m_4m
  DTLB_LOAD_WALK_1G,     // dtlb_load_misses.walk_completed_1g
  DTLB_LOAD_STLB_HIT_4K, // dtlb_load_misses.stlb_hit_4k
  DTLB_LOAD_STLB_HIT_2M, // dtlb_load_misses.stlb_hit_2m (2M and 1G entries)
  DTLB_STORE_STLB_HIT,
  DTLB_STORE_WALK,
  DTLB_STORE_WALK_DONE,
  DTLB_STORE_WALK_4K,
  DTLB_STORE_WALK_2M,
  DTLB_STORE_WALK_1G,
  DTLB_STORE_STLB_HIT_4K,
  DTLB_STORE_STLB_HIT_2M,
  ITLB_STLB_HIT,
  ITLB_WALK,
  ITLB_WALK_DONE,
  ITLB_WALK_4K,
  ITLB_WALK_2M,
  ITLB_WALK_1G,
  ITLB_STLB_HIT_4K,
  ITLB_STLB_HIT_2M,
  TLB_DIRTY_REWALK,      // writes through a TLB entry whose leaf was clean: re-walked to set D
  TLB_FAULT,             // #PF raised from rights cached in a TLB entry (may be spurious, SDM §4.10.4.3)
  TLB_FILL,              // entries written into any TLB array
  PSC_HIT_PDE,           // walks that started below a PDE-cache hit
  PSC_HIT_PDPTE,
  PSC_HIT_PML4E,
  PSC_HIT_PML5E,
  PSC_MISS,              // walks with no paging-structure-cache hit
  TLB_FLUSH_FULL,        // flushes of everything, global entries included
  TLB_FLUSH_PCID,        // flushes of one PCID's (or all PCIDs') non-global entries
  TLB_FLUSH_PAGE,        // single-address invalidations (INVLPG, INVPCID type 0, #PF)
  TLB_FLUSH_ELIDED,      // MOV to CR3 with the no-flush bit
  TLB_SHOOTDOWN_IPI,     // shootdown IPIs received
  CYCLES,                // all cycles charged to accesses (base + translation + faults)
  CYCLES_TRANSLATION,    // cycles of translation: TLB levels, walks, A/D updates, faults
  REPLAY_STRADDLE,       // accesses that straddled a page boundary (both pages translated)
  COUNT
}

/** Names in enum order, newline-separated: `<unit>_<event>`, as /proc/vmstat prints them. */
// One literal (not a concatenation) so it lives in static data, no allocation at start-up.
export const COUNTER_NAMES: string = "walk_started\nwalk_mem_ref\nwalk_completed\nwalk_restart\nfault_gp\nfault_pf\nfault_pf_not_present\nfault_pf_rsvd\nfault_pf_prot\nfault_pf_pk\nad_accessed_set\nad_dirty_set\nphys_read_oob\nphys_write_oob\nphys_read_unbacked\nphys_write_unbacked\ncr_write_exception\nbuddy_alloc\nbuddy_alloc_fail\nbuddy_free\nbuddy_free_error\nbuddy_split\nbuddy_merge\naccess_load\naccess_store\naccess_fetch\ntlb_l1d_hit\ntlb_l1i_hit\ntlb_l1_hit_4k\ntlb_l1_hit_2m\ntlb_l1_hit_1g\ndtlb_load_misses.stlb_hit\ndtlb_load_misses.miss_causes_a_walk\ndtlb_load_misses.walk_completed\ndtlb_load_misses.walk_completed_4k\ndtlb_load_misses.walk_completed_2m_4m\ndtlb_load_misses.walk_completed_1g\ndtlb_load_misses.stlb_hit_4k\ndtlb_load_misses.stlb_hit_2m\ndtlb_store_misses.stlb_hit\ndtlb_store_misses.miss_causes_a_walk\ndtlb_store_misses.walk_completed\ndtlb_store_misses.walk_completed_4k\ndtlb_store_misses.walk_completed_2m_4m\ndtlb_store_misses.walk_completed_1g\ndtlb_store_misses.stlb_hit_4k\ndtlb_store_misses.stlb_hit_2m\nitlb_misses.stlb_hit\nitlb_misses.miss_causes_a_walk\nitlb_misses.walk_completed\nitlb_misses.walk_completed_4k\nitlb_misses.walk_completed_2m_4m\nitlb_misses.walk_completed_1g\nitlb_misses.stlb_hit_4k\nitlb_misses.stlb_hit_2m\ntlb_dirty_rewalk\ntlb_fault\ntlb_fill\npsc_hit_pde\npsc_hit_pdpte\npsc_hit_pml4e\npsc_hit_pml5e\npsc_miss\ntlb_flush_full\ntlb_flush_pcid\ntlb_flush_page\ntlb_flush_elided\ntlb_shootdown_ipi\ncycles\ncycles_translation\nreplay_straddle";

/** Counters per access kind (load, store, fetch) in the DTLB_LOAD_… / DTLB_STORE_… / ITLB_… runs. */
@inline export const KIND_COUNTERS: u32 = 8;

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

@inline export function countAt(block: usize, index: u32): void {
  const p = block + (<usize>index << 3);
  store<u64>(p, load<u64>(p) + 1);
}

@inline export function count(block: usize, c: Counter): void {
  const p = block + (<usize>c << 3);
  store<u64>(p, load<u64>(p) + 1);
}

@inline export function countN(block: usize, c: Counter, n: u64): void {
  const p = block + (<usize>c << 3);
  store<u64>(p, load<u64>(p) + n);
}
