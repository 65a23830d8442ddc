// One list of counters (cf. blink's stats.inc): each enum member carries its name in the comment
// on its line, `ID, // name — description`. The build (scripts/gen-abi.mjs) reads this enum and
// writes the name table (counter-names.generated.ts, COUNTER_NAMES) for the core and for the host
// (src/abi/core.generated.ts), refusing a member without a name or a name used twice, so the
// names cannot drift from the ids.
//
// Owns: the counter blocks, one per CPU, one for accesses the host makes itself (the block after
// the last CPU's), and a scratch block after that which side-effect-free probes count into. Each
// block is COUNTER_STRIDE bytes of u64; the host reads them through one BigUint64Array view.

export const enum Counter {
  WALK_STARTED, // walk_started — translations that began a page walk
  WALK_MEM_REF, // walk_mem_ref — paging-structure entries read by walks
  WALK_COMPLETED, // walk_completed — walks that produced a translation
  WALK_RESTART, // walk_restart — walks restarted because an entry changed under an A/D update
  FAULT_GP, // fault_gp — #GP(0): non-canonical linear address
  FAULT_PF, // fault_pf — #PF of any kind
  FAULT_PF_NOT_PRESENT, // fault_pf_not_present — #PF with P=0 in the error code
  FAULT_PF_RSVD, // fault_pf_rsvd — #PF with RSVD=1
  FAULT_PF_PROT, // fault_pf_prot — #PF for U/S, R/W, XD, SMEP, SMAP or WP
  FAULT_PF_PK, // fault_pf_pk — #PF with PK=1
  AD_ACCESSED_SET, // ad_accessed_set — entries whose A bit a walk set
  AD_DIRTY_SET, // ad_dirty_set — leaves whose D bit a walk set
  PHYS_READ_OOB, // phys_read_oob — physical reads beyond RAM (read as all ones)
  PHYS_WRITE_OOB, // phys_write_oob — physical writes beyond RAM (dropped)
  PHYS_READ_UNBACKED, // phys_read_unbacked — tables-only mode: reads of frames without bytes (read as zero)
  PHYS_WRITE_UNBACKED, // phys_write_unbacked — tables-only mode: writes to frames without bytes (dropped)
  CR_WRITE_EXCEPTION, // cr_write_exception — MOV to CR / WRMSR refused with #GP, WRPKRU with #UD
  BUDDY_ALLOC, // buddy_alloc — blocks handed out by the buddy allocator
  BUDDY_ALLOC_FAIL, // buddy_alloc_fail — allocations no allowed zone could meet
  BUDDY_FREE, // buddy_free — blocks freed
  BUDDY_FREE_ERROR, // buddy_free_error — frees refused: double free, not a head, wrong order, …
  BUDDY_SPLIT, // buddy_split — block halvings on allocation (expand)
  BUDDY_MERGE, // buddy_merge — buddy merges on free
  ACCESS_LOAD, // access_load — data reads through the TLBs (replay and translateTlb)
  ACCESS_STORE, // access_store — data writes
  ACCESS_FETCH, // access_fetch — instruction fetches
  TLB_L1D_HIT, // tlb_l1d_hit — L1 data TLB hits
  TLB_L1I_HIT, // tlb_l1i_hit — L1 instruction TLB hits
  TLB_L1_HIT_4K, // tlb_l1_hit_4k — L1 hits (I or D) by the entry's page size
  TLB_L1_HIT_2M, // tlb_l1_hit_2m
  TLB_L1_HIT_1G, // tlb_l1_hit_1g
  // Per access kind, in the order load, store, fetch; names as Intel's perf events.
  DTLB_LOAD_STLB_HIT, // dtlb_load_misses.stlb_hit — L1 miss, second-level hit
  DTLB_LOAD_WALK, // dtlb_load_misses.miss_causes_a_walk
  DTLB_LOAD_WALK_DONE, // dtlb_load_misses.walk_completed — (a translation was found)
  DTLB_LOAD_WALK_4K, // dtlb_load_misses.walk_completed_4k
  DTLB_LOAD_WALK_2M, // dtlb_load_misses.walk_completed_2m_4m
  DTLB_LOAD_WALK_1G, // dtlb_load_misses.walk_completed_1g
  DTLB_LOAD_STLB_HIT_4K, // dtlb_load_misses.stlb_hit_4k
  DTLB_LOAD_STLB_HIT_2M, // dtlb_load_misses.stlb_hit_2m — (2M and 1G entries)
  DTLB_STORE_STLB_HIT, // dtlb_store_misses.stlb_hit
  DTLB_STORE_WALK, // dtlb_store_misses.miss_causes_a_walk
  DTLB_STORE_WALK_DONE, // dtlb_store_misses.walk_completed
  DTLB_STORE_WALK_4K, // dtlb_store_misses.walk_completed_4k
  DTLB_STORE_WALK_2M, // dtlb_store_misses.walk_completed_2m_4m
  DTLB_STORE_WALK_1G, // dtlb_store_misses.walk_completed_1g
  DTLB_STORE_STLB_HIT_4K, // dtlb_store_misses.stlb_hit_4k
  DTLB_STORE_STLB_HIT_2M, // dtlb_store_misses.stlb_hit_2m
  ITLB_STLB_HIT, // itlb_misses.stlb_hit
  ITLB_WALK, // itlb_misses.miss_causes_a_walk
  ITLB_WALK_DONE, // itlb_misses.walk_completed
  ITLB_WALK_4K, // itlb_misses.walk_completed_4k
  ITLB_WALK_2M, // itlb_misses.walk_completed_2m_4m
  ITLB_WALK_1G, // itlb_misses.walk_completed_1g
  ITLB_STLB_HIT_4K, // itlb_misses.stlb_hit_4k
  ITLB_STLB_HIT_2M, // itlb_misses.stlb_hit_2m
  TLB_DIRTY_REWALK, // tlb_dirty_rewalk — writes through a TLB entry whose leaf was clean: re-walked to set D
  TLB_FAULT, // tlb_fault — #PF raised from rights cached in a TLB entry (may be spurious, SDM §4.10.4.3)
  TLB_FILL, // tlb_fill — entries written into any TLB array
  PSC_HIT_PDE, // psc_hit_pde — walks that started below a PDE-cache hit
  PSC_HIT_PDPTE, // psc_hit_pdpte
  PSC_HIT_PML4E, // psc_hit_pml4e
  PSC_HIT_PML5E, // psc_hit_pml5e
  PSC_MISS, // psc_miss — walks with no paging-structure-cache hit
  TLB_FLUSH_FULL, // tlb_flush_full — flushes of everything, global entries included
  TLB_FLUSH_PCID, // tlb_flush_pcid — flushes of one PCID's (or all PCIDs') non-global entries
  TLB_FLUSH_PAGE, // tlb_flush_page — single-address invalidations (INVLPG, INVPCID type 0, #PF)
  TLB_FLUSH_ELIDED, // tlb_flush_elided — MOV to CR3 with the no-flush bit
  TLB_SHOOTDOWN_IPI, // tlb_shootdown_ipi — shootdown IPIs received
  CYCLES, // cycles — all cycles charged to accesses (base + translation + faults)
  CYCLES_TRANSLATION, // cycles_translation — cycles of translation: TLB levels, walks, A/D updates, faults
  REPLAY_STRADDLE, // replay_straddle — accesses that straddled a page boundary (both pages translated)
  EPT_WALK, // ept_walk — guest-physical addresses translated through the EPT (nested paging)
  EPT_MEM_REF, // ept_mem_ref — EPT entries read (also counted in walk_mem_ref)
  EPT_AD_SET, // ept_ad_set — EPT entries whose accessed or dirty flag a walk set
  EPT_VIOLATION, // ept_violation — VM exits for EPT violations (SDM Vol. 3C §29.3.3.2)
  EPT_MISCONFIG, // ept_misconfig — VM exits for EPT misconfigurations (§29.3.3.1)
  TLB_FLUSH_INVEPT, // tlb_flush_invept — INVEPT executions (single-context or all-context)
  TLB_FLUSH_INVVPID, // tlb_flush_invvpid — INVVPID executions (any type)
  // The cache hierarchy (mmu/cache.ts), with its mode on. Walk references by where their line was
  // found, in the order L1, L2, L3 (the LLC), memory: Skylake's page_walker_loads.* events.
  PWL_DTLB_L1, // page_walker_loads.dtlb_l1 — paging-structure reads of data accesses' walks found in L1D
  PWL_DTLB_L2, // page_walker_loads.dtlb_l2
  PWL_DTLB_L3, // page_walker_loads.dtlb_l3
  PWL_DTLB_MEMORY, // page_walker_loads.dtlb_memory
  PWL_ITLB_L1, // page_walker_loads.itlb_l1 — paging-structure reads of instruction fetches' walks found in L1D
  PWL_ITLB_L2, // page_walker_loads.itlb_l2
  PWL_ITLB_L3, // page_walker_loads.itlb_l3
  PWL_ITLB_MEMORY, // page_walker_loads.itlb_memory
  WALK_AD_REF, // walk_ad_ref — locked A/D updates of paging-structure entries looked up in the hierarchy
  // Cycles a walk was in progress, per kind (load, store, fetch): its references, PSC hit and A/D
  // updates; counted with the hierarchy on (mode walks or all). The walker is modelled one walk at
  // a time, so walk_pending equals walk_active.
  DTLB_LOAD_WALK_ACTIVE, // dtlb_load_misses.walk_active — cycles a load's page walk was in progress
  DTLB_STORE_WALK_ACTIVE, // dtlb_store_misses.walk_active
  ITLB_WALK_ACTIVE, // itlb_misses.walk_active
  DTLB_LOAD_WALK_PENDING, // dtlb_load_misses.walk_pending — walks in progress summed over cycles (= walk_active here)
  DTLB_STORE_WALK_PENDING, // dtlb_store_misses.walk_pending
  ITLB_WALK_PENDING, // itlb_misses.walk_pending
  MEM_LOAD_L1_HIT, // mem_load_retired.l1_hit — trace loads found in L1D (caches "all")
  MEM_LOAD_L1_MISS, // mem_load_retired.l1_miss
  MEM_LOAD_L2_HIT, // mem_load_retired.l2_hit
  MEM_LOAD_L2_MISS, // mem_load_retired.l2_miss
  MEM_LOAD_L3_HIT, // mem_load_retired.l3_hit
  MEM_LOAD_L3_MISS, // mem_load_retired.l3_miss
  MEM_STORE_L1_HIT, // mem_store.l1_hit — trace stores found in L1D (not an Intel event: stores by level)
  MEM_STORE_L2_HIT, // mem_store.l2_hit
  MEM_STORE_L3_HIT, // mem_store.l3_hit
  MEM_STORE_MEMORY, // mem_store.memory
  // The nested TLB (mmu/nested.ts): guest-physical translations of guest paging-structure addresses.
  EPT_TLB_HIT, // ept_tlb_hit — guest paging-structure references whose guest-physical address the nested TLB translated (no EPT walk)
  EPT_TLB_MISS, // ept_tlb_miss — guest paging-structure references that looked up the nested TLB and walked the EPT
  COUNT
}

export { COUNTER_NAMES } from "./counter-names.generated";

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

/**
 * Add `a` to counter `c` and `b` to the one after it (`c` + 1) in one 16-byte load and store: for
 * a path that counts both, e.g. walk_started and walk_mem_ref.
 */
@inline export function countPair(block: usize, c: Counter, a: u64, b: u64): void {
  const p = block + (<usize>c << 3);
  v128.store(p, i64x2.add(v128.load(p), i64x2.replace_lane(i64x2.splat(<i64>a), 1, <i64>b)));
}
