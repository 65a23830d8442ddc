/**
 * The numbers memory.stat prints (mm/memcontrol.c memory_stats, memcg1_stats): per memory group,
 * the page states it owns (anon, file, shmem, mapped, dirty, writeback, swap cache, LRU lists,
 * kernel memory, swap) and its events (page-ins and -outs as charges and uncharges, faults,
 * refaults, reclaim scans and steals) — the group's own ("local") or summed over its subtree
 * ("hierarchical", the kernel's rstat aggregation).
 *
 * The page states are not kept as running counters: one pass over the frame descriptors gives each
 * group's exactly, from the group each frame is charged to and its flags (what __lruvec_stat_mod_
 * folio would have counted); the lists' sizes come from each group's lruvec, the kernel memory and
 * swap counts and the events from the groups. So memory.stat can never drift from the pages.
 *
 * Owns: nothing (reads frames and groups).
 */
import { pageFlag } from "../machine/frames.js";
import { LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_UNEVICTABLE } from "./lru.js";
import type { MemCgroup, MemCgroups } from "./memcg.js";

const ALLOCATED = pageFlag("allocated");
const TAIL = pageFlag("tail");
const SWAPCACHE = pageFlag("swapcache");
const DIRTY = pageFlag("dirty");
const WRITEBACK = pageFlag("writeback");
/** Kernel pages: never a user page, whatever their mapping word holds. */
const KERNEL = pageFlag("slab") | pageFlag("table") | pageFlag("reserved");
/** HPAGE_PMD_ORDER: an anonymous page of this order is a THP (NR_ANON_THPS). */
const THP_ORDER = 9;

/** The items the model keeps, by their memory.stat (v2) names: pages for states, counts for events. */
export interface MemcgStat {
  anon: number; file: number; kernel: number; pagetables: number; shmem: number;
  file_mapped: number; file_dirty: number; file_writeback: number; swapcached: number; anon_thp: number; swap: number;
  inactive_anon: number; active_anon: number; inactive_file: number; active_file: number; unevictable: number;
  workingset_refault_anon: number; workingset_refault_file: number;
  pgscan_kswapd: number; pgscan_direct: number; pgsteal_kswapd: number; pgsteal_direct: number;
  pgpgin: number; pgpgout: number; pgfault: number; pgmajfault: number;
}

const ZERO: MemcgStat = {
  anon: 0, file: 0, kernel: 0, pagetables: 0, shmem: 0, file_mapped: 0, file_dirty: 0, file_writeback: 0, swapcached: 0, anon_thp: 0, swap: 0,
  inactive_anon: 0, active_anon: 0, inactive_file: 0, active_file: 0, unevictable: 0, workingset_refault_anon: 0, workingset_refault_file: 0,
  pgscan_kswapd: 0, pgscan_direct: 0, pgsteal_kswapd: 0, pgsteal_direct: 0, pgpgin: 0, pgpgout: 0, pgfault: 0, pgmajfault: 0,
};

/** Every group's own numbers (memcg_page_state_local, memcg_events_local), by group: one pass over the frames. */
export function localStats(ctl: MemCgroups): Map<MemCgroup, MemcgStat> {
  const out = new Map<MemCgroup, MemcgStat>();
  for (const g of ctl.groups()) {
    const v = g.lruvec;
    const e = v.events;
    out.set(g, {
      ...ZERO,
      kernel: g.kmemPages, pagetables: g.kmemPages, swap: g.swapRecords,
      inactive_anon: v.size[LRU_INACTIVE_ANON], active_anon: v.size[LRU_ACTIVE_ANON], inactive_file: v.size[LRU_INACTIVE_FILE],
      active_file: v.size[LRU_ACTIVE_FILE], unevictable: v.size[LRU_UNEVICTABLE],
      workingset_refault_anon: e.workingset_refault_anon, workingset_refault_file: e.workingset_refault_file,
      pgscan_kswapd: e.pgscan_kswapd, pgscan_direct: e.pgscan_direct, pgsteal_kswapd: e.pgsteal_kswapd, pgsteal_direct: e.pgsteal_direct,
      pgpgin: g.vm.pgpgin, pgpgout: g.vm.pgpgout, pgfault: g.vm.pgfault, pgmajfault: g.vm.pgmajfault,
    });
  }
  const f = ctl.k.frames;
  for (let pfn = 0; pfn < f.count; pfn++) {
    const flags = f.flags(pfn);
    if ((flags & ALLOCATED) === 0 || (flags & (TAIL | KERNEL)) !== 0) continue;
    const g = ctl.byMemcgId(f.memcg(pfn));
    if (g === undefined || ctl.swappedOut.has(pfn)) continue;
    const s = out.get(g) as MemcgStat;
    const n = 1 << f.order(pfn);
    if ((flags & WRITEBACK) !== 0) s.file_writeback += n; // NR_WRITEBACK: swap writes too
    if (f.isAnon(pfn)) {
      if (f.mapcount(pfn) > 0) { s.anon += n; if (f.order(pfn) >= THP_ORDER) s.anon_thp += n; }
      if ((flags & SWAPCACHE) !== 0) s.swapcached += n; // NR_SWAPCACHE (NR_FILE_PAGES of swap cache is node-only)
      continue;
    }
    const owner = ctl.k.cacheOwner(pfn);
    if (owner === undefined) continue;
    s.file += n;
    if (owner.isShmem) s.shmem += n;
    if (f.mapcount(pfn) > 0) s.file_mapped += n;
    if ((flags & DIRTY) !== 0) s.file_dirty += n;
  }
  return out;
}

/** `g`'s numbers over its subtree (memcg_page_state, memcg_events), removed children's events included. */
export function hierarchicalStat(local: Map<MemCgroup, MemcgStat>, g: MemCgroup): MemcgStat {
  const sum: MemcgStat = { ...ZERO };
  const keys = Object.keys(ZERO) as (keyof MemcgStat)[];
  for (const x of g.subtree()) {
    const s = local.get(x) as MemcgStat;
    for (const k of keys) sum[k] += s[k];
    for (const [k, n] of Object.entries(x.retired)) sum[k as keyof MemcgStat] += n;
  }
  return sum;
}
