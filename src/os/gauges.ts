/**
 * The kernel's state counters computed on read from their owners: the /proc/vmstat gauges
 * (nr_free_pages, the LRU lists, nr_mlock, nr_swapcached…, registered once in the VmStat registry)
 * and the numbers a global OOM report's __show_mem prints. Gathering them here keeps linux.ts to
 * the wiring.
 *
 * Owns: nothing; reads the buddy allocator, the LRU lists, the page cache, the swap cache, the slab.
 */
import type { Linux } from "./linux.js";
import type { VmStat } from "./vmstat.js";
import type { ShowMemInput } from "./proc/showmem.js";
import { pageFlag } from "../machine/frames.js";
import { MAX_RECLAIM_RETRIES } from "./pagealloc.js";

const PG_DIRTY_OR_WB = pageFlag("dirty") | pageFlag("writeback");
const PG_MLOCKED = pageFlag("mlocked");
const PG_WRITEBACK = pageFlag("writeback");

/** Register the gauges of `os` in its counter registry. */
export function defineKernelGauges(s: VmStat, os: Linux): void {
  const m = os.machine;
  s.define("nr_free_pages", () => m.frames.freePages);
  s.define("nr_page_table_pages", () => os.kernel.pageTablePages);
  s.define("nr_slab_unreclaimable", () => os.kernel.slab.framesInUse.slab);
  s.define("nr_mapped", () => {
    let mapped = 0;
    for (const [pfn] of os.rmap.entries()) if (!os.rmap.isAnon(pfn)) mapped++;
    return mapped;
  });
  // NR_ANON_THPS, in huge pages as /proc/vmstat prints it (vmstat_item_print_in_thp).
  s.define("nr_anon_transparent_hugepages", () => os.thp.anonThps());
  // The LRU lists (one node, one zone holding user pages: the zone and node gauges agree).
  const lru = (list: number) => () => os.reclaim.nodeSize(list);
  s.define("nr_zone_inactive_anon", lru(0));
  s.define("nr_zone_active_anon", lru(1));
  s.define("nr_zone_inactive_file", lru(2));
  s.define("nr_zone_active_file", lru(3));
  s.define("nr_zone_unevictable", lru(4));
  s.define("nr_inactive_anon", lru(0));
  s.define("nr_active_anon", lru(1));
  s.define("nr_inactive_file", lru(2));
  s.define("nr_active_file", lru(3));
  s.define("nr_unevictable", lru(4));
  s.define("nr_mlock", () => os.reclaim.mlockedPages());
  s.define("nr_swapcached", () => os.swap.cache.size);
  const c = (name: string) => () => Number(m.counters("all")[name] ?? 0n);
  s.define("pgalloc_normal", c("buddy_alloc"));
  s.define("pgfree", c("buddy_free"));
}

/**
 * What __show_mem prints for `os`, from the page counters, the LRU lists and the zones; `tasks`
 * live tasks give the kernel stacks (16 KiB each on x86-64).
 */
export function showMemState(os: Linux, tasks: number): ShowMemInput {
  const s = os.reclaim.listSizes();
  const f = os.frames;
  const zones = os.machine.frames.zones();
  const per = zones.map((zone) => ({ zone, activeAnon: 0, inactiveAnon: 0, activeFile: 0, inactiveFile: 0, unevictable: 0, writePending: 0, mlocked: 0 }));
  const keys = ["inactiveAnon", "activeAnon", "inactiveFile", "activeFile", "unevictable"] as const;
  let writeback = 0;
  for (const v of os.reclaim.lruvecs) {
    for (let lru = 0; lru < keys.length; lru++) {
      for (const pfn of v.pagesOn(lru)) {
        if (f.test(pfn, PG_WRITEBACK)) writeback++;
        const z = per[f.zone(pfn)];
        if (z === undefined) continue;
        const n = 1 << f.order(pfn);
        z[keys[lru]] += n;
        if (f.test(pfn, PG_DIRTY_OR_WB)) z.writePending += n;
        if (f.test(pfn, PG_MLOCKED)) z.mlocked += n;
      }
    }
  }
  const cache = os.cache.stats;
  return {
    activeAnon: s.activeAnon, inactiveAnon: s.inactiveAnon, activeFile: s.activeFile, inactiveFile: s.inactiveFile, unevictable: s.unevictable,
    dirty: cache.dirty, writeback, slabReclaimable: 0, slabUnreclaimable: os.kernel.slab.framesInUse.slab,
    mapped: os.stats.get("nr_mapped") ?? 0, shmem: cache.shmem, pagetables: os.kernel.pageTablePages, free: os.machine.frames.freePages,
    kernelStackKb: tasks * 16, anonThp: os.thp.anonThps() * 512, allUnreclaimable: os.reclaim.kswapdFailures >= MAX_RECLAIM_RETRIES,
    zones: per, pagecache: cache.file + cache.shmem + os.swap.cache.size, swapCache: os.swap.cache.size,
    freeSwap: os.swap.freePages, totalSwap: os.swap.totalPages,
  };
}
