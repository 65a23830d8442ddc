/**
 * The one registry of the kernel model's counters (mm/vmstat.c's vm_event_states and node
 * stats): every counter the model keeps is here, under Linux's /proc/vmstat name, maintained by
 * the module that owns the fact (the fault handler counts pgfault, the page cache pgpgin, the
 * reverse map nr_anon_pages…) or computed on read from its owner (nr_free_pages from the buddy
 * allocator). /proc/vmstat prints exactly the counters kept here, in the kernel's order: a counter
 * the model does not keep is left out, never printed as a made-up 0.
 *
 * Owns: the counter values. Model-only counters (cow_copy, the CONFIG_DEBUG_TLBFLUSH nr_tlb_*
 * the reference kernel does not print) live here too; /proc/vmstat leaves them out.
 */
import { VMSTAT_FIELDS, type VmstatField } from "./proc/vmstat.js";

/** Counters the model maintains (names as Linux's; the last group is not in /proc/vmstat). */
export interface VmEvents {
  pgfault: number;
  pgmajfault: number;
  /** KiB read from files and swap (block I/O in, as the kernel counts it). */
  pgpgin: number;
  /** KiB written. */
  pgpgout: number;
  /** COW faults that reused the page (wp_can_reuse_anon_folio). */
  pgreuse: number;
  /** Pages MADV_FREE made lazily freeable. */
  pglazyfree: number;
  /** Anonymous pages in use (a node gauge, NR_ANON_MAPPED). */
  nr_anon_pages: number;
  // Reclaim (mm/vmscan.c) and workingset detection (mm/workingset.c).
  workingset_refault_anon: number;
  workingset_refault_file: number;
  workingset_activate_anon: number;
  workingset_activate_file: number;
  workingset_restore_anon: number;
  workingset_restore_file: number;
  pgscan_kswapd: number;
  pgscan_direct: number;
  pgsteal_kswapd: number;
  pgsteal_direct: number;
  pgscan_anon: number;
  pgscan_file: number;
  pgsteal_anon: number;
  pgsteal_file: number;
  pgactivate: number;
  pgdeactivate: number;
  pgrefill: number;
  pgrotated: number;
  pglazyfreed: number;
  pageoutrun: number;
  allocstall_normal: number;
  nr_vmscan_write: number;
  drop_pagecache: number;
  unevictable_pgs_mlocked: number;
  unevictable_pgs_munlocked: number;
  // Swap (mm/page_io.c, mm/swap_state.c).
  pswpin: number;
  pswpout: number;
  swpin_zero: number;
  swpout_zero: number;
  swap_ra: number;
  swap_ra_hit: number;
  // Transparent huge pages (mm/huge_memory.c, mm/khugepaged.c).
  thp_fault_alloc: number;
  thp_fault_fallback: number;
  thp_fault_fallback_charge: number;
  thp_collapse_alloc: number;
  thp_collapse_alloc_failed: number;
  thp_split_page: number;
  thp_split_pmd: number;
  thp_zero_page_alloc: number;
  thp_zero_page_alloc_failed: number;
  /** Tasks the OOM killer killed. */
  oom_kill: number;
  nr_tlb_remote_flush: number;
  nr_tlb_remote_flush_received: number;
  nr_tlb_local_flush_all: number;
  nr_tlb_local_flush_one: number;
  /** Not in /proc/vmstat: COW faults that copied, and that reused the page. */
  cow_copy: number;
  cow_reuse: number;
}

export type VmEventName = keyof VmEvents;

export class VmStat {
  /** The maintained counters: owners add to them directly (`stat.events.pgfault++`). */
  readonly events: VmEvents = {
    pgfault: 0, pgmajfault: 0, pgpgin: 0, pgpgout: 0, pgreuse: 0, pglazyfree: 0, nr_anon_pages: 0,
    workingset_refault_anon: 0, workingset_refault_file: 0, workingset_activate_anon: 0, workingset_activate_file: 0,
    workingset_restore_anon: 0, workingset_restore_file: 0, pgscan_kswapd: 0, pgscan_direct: 0, pgsteal_kswapd: 0,
    pgsteal_direct: 0, pgscan_anon: 0, pgscan_file: 0, pgsteal_anon: 0, pgsteal_file: 0, pgactivate: 0, pgdeactivate: 0,
    pgrefill: 0, pgrotated: 0, pglazyfreed: 0, pageoutrun: 0, allocstall_normal: 0, nr_vmscan_write: 0, drop_pagecache: 0,
    unevictable_pgs_mlocked: 0, unevictable_pgs_munlocked: 0,
    pswpin: 0, pswpout: 0, swpin_zero: 0, swpout_zero: 0, swap_ra: 0, swap_ra_hit: 0, oom_kill: 0,
    thp_fault_alloc: 0, thp_fault_fallback: 0, thp_fault_fallback_charge: 0, thp_collapse_alloc: 0, thp_collapse_alloc_failed: 0,
    thp_split_page: 0, thp_split_pmd: 0, thp_zero_page_alloc: 0, thp_zero_page_alloc_failed: 0,
    nr_tlb_remote_flush: 0, nr_tlb_remote_flush_received: 0, nr_tlb_local_flush_all: 0, nr_tlb_local_flush_one: 0,
    cow_copy: 0, cow_reuse: 0,
  };
  private readonly computed = new Map<string, () => number>();

  /** Register a counter computed on read from its owner (e.g. nr_free_pages from the buddy allocator). */
  define(name: string, read: () => number): void {
    if (name in this.events || this.computed.has(name)) throw new Error(`vmstat counter ${name} is defined twice`);
    this.computed.set(name, read);
  }

  /** The counter's value now, or undefined when the model does not keep it. */
  get(name: string): number | undefined {
    if (name in this.events) return this.events[name as VmEventName];
    return this.computed.get(name)?.();
  }

  /** Does the model keep this counter? */
  has(name: string): boolean {
    return name in this.events || this.computed.has(name);
  }

  /** The /proc/vmstat counters the model keeps, in the kernel's order, with their values. */
  procVmstat(): Partial<Record<VmstatField, number>> {
    const out: Partial<Record<VmstatField, number>> = {};
    for (const f of VMSTAT_FIELDS) {
      const v = this.get(f);
      if (v !== undefined) out[f] = v;
    }
    return out;
  }
}
