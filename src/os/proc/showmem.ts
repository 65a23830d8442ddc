/**
 * __show_mem (mm/show_mem.c: show_free_areas, show_swap_cache_info), the memory state a global
 * OOM report prints after the stack: the node's page counts, each zone's free pages, watermarks,
 * LRU pages and lowmem reserves, each zone's free blocks by order, huge pages, the page cache, swap
 * and RAM totals. Pure: the numbers in, kernel-log records out (one record per printk; the first
 * counts record spans lines, as the kernel prints it).
 *
 * Owns: the text. The values are the kernel's (src/os/linux.ts gathers them).
 */
import type { ZoneInfo } from "../../machine/frames.js";

/** Per-zone page counts the zone line shows (pages). */
export interface ShowMemZone {
  readonly zone: ZoneInfo;
  readonly activeAnon: number;
  readonly inactiveAnon: number;
  readonly activeFile: number;
  readonly inactiveFile: number;
  readonly unevictable: number;
  /** Dirty and under writeback (NR_ZONE_WRITE_PENDING). */
  readonly writePending: number;
  readonly mlocked: number;
}

/** What __show_mem prints (pages unless named in kB). */
export interface ShowMemInput {
  readonly activeAnon: number;
  readonly inactiveAnon: number;
  readonly activeFile: number;
  readonly inactiveFile: number;
  readonly unevictable: number;
  readonly dirty: number;
  readonly writeback: number;
  readonly slabReclaimable: number;
  readonly slabUnreclaimable: number;
  readonly mapped: number;
  readonly shmem: number;
  readonly pagetables: number;
  readonly free: number;
  /** Kernel stacks, kB (16 kB per task on x86-64). */
  readonly kernelStackKb: number;
  readonly anonThp: number;
  /** kswapd gave up on the node (kswapd_failures ≥ MAX_RECLAIM_RETRIES). */
  readonly allUnreclaimable: boolean;
  readonly zones: readonly ShowMemZone[];
  /** NR_FILE_PAGES. */
  readonly pagecache: number;
  readonly swapCache: number;
  readonly freeSwap: number;
  readonly totalSwap: number;
}

/** MAX_NR_ZONES with ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE and ZONE_DEVICE (x86-64 distro configs). */
const MAX_NR_ZONES = 5;

/** The records __show_mem prints, in order. */
export function formatShowMem(m: ShowMemInput): string[] {
  const K = (pages: number) => pages * 4;
  const out: string[] = ["Mem-Info:"];
  out.push(
    `active_anon:${m.activeAnon} inactive_anon:${m.inactiveAnon} isolated_anon:0\n` +
    ` active_file:${m.activeFile} inactive_file:${m.inactiveFile} isolated_file:0\n` +
    ` unevictable:${m.unevictable} dirty:${m.dirty} writeback:${m.writeback}\n` +
    ` slab_reclaimable:${m.slabReclaimable} slab_unreclaimable:${m.slabUnreclaimable}\n` +
    ` mapped:${m.mapped} shmem:${m.shmem} pagetables:${m.pagetables}\n` +
    ` sec_pagetables:0 bounce:0\n` +
    ` kernel_misc_reclaimable:0\n` +
    ` free:${m.free} free_pcp:0 free_cma:0`,
  );
  out.push(
    `Node 0 active_anon:${K(m.activeAnon)}kB inactive_anon:${K(m.inactiveAnon)}kB active_file:${K(m.activeFile)}kB inactive_file:${K(m.inactiveFile)}kB` +
    ` unevictable:${K(m.unevictable)}kB isolated(anon):0kB isolated(file):0kB mapped:${K(m.mapped)}kB dirty:${K(m.dirty)}kB writeback:${K(m.writeback)}kB` +
    ` shmem:${K(m.shmem)}kB shmem_thp:0kB shmem_pmdmapped:0kB anon_thp:${K(m.anonThp)}kB writeback_tmp:0kB kernel_stack:${m.kernelStackKb}kB` +
    ` pagetables:${K(m.pagetables)}kB sec_pagetables:0kB all_unreclaimable? ${m.allUnreclaimable ? "yes" : "no"}`,
  );
  const populated = m.zones.filter((z) => z.zone.present > 0);
  for (const z of populated) {
    const w = z.zone.watermarks;
    out.push(
      `Node 0 ${z.zone.name} free:${K(z.zone.free)}kB boost:0kB min:${K(w.min)}kB low:${K(w.low)}kB high:${K(w.high)}kB reserved_highatomic:0KB` +
      ` active_anon:${K(z.activeAnon)}kB inactive_anon:${K(z.inactiveAnon)}kB active_file:${K(z.activeFile)}kB inactive_file:${K(z.inactiveFile)}kB` +
      ` unevictable:${K(z.unevictable)}kB writepending:${K(z.writePending)}kB present:${K(z.zone.present)}kB managed:${K(z.zone.managed)}kB` +
      ` mlocked:${K(z.mlocked)}kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB`,
    );
    const reserve = [...z.zone.lowmemReserve];
    while (reserve.length < MAX_NR_ZONES) reserve.push(reserve[reserve.length - 1] ?? 0); // ZONE_MOVABLE and ZONE_DEVICE are empty: the same reserve as Normal's
    out.push(`lowmem_reserve[]:${reserve.slice(0, MAX_NR_ZONES).map((r) => ` ${r}`).join("")}`);
  }
  for (const z of populated) {
    let total = 0;
    let line = `Node 0 ${z.zone.name}: `;
    z.zone.freeArea.forEach((n, order) => {
      total += n << order;
      // The model keeps one free list per order: its blocks are shown as movable (M).
      line += `${n}*${4 << order}kB ${n > 0 ? "(M) " : ""}`;
    });
    out.push(`${line}= ${K(total)}kB`);
  }
  out.push("Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=1048576kB");
  out.push("Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB");
  out.push(`${m.pagecache} total pagecache pages`);
  out.push(`${m.swapCache} pages in swap cache`);
  out.push(`Free swap  = ${K(m.freeSwap)}kB`);
  out.push(`Total swap = ${K(m.totalSwap)}kB`);
  let ram = 0;
  let reserved = 0;
  for (const z of populated) { ram += z.zone.present; reserved += z.zone.present - z.zone.managed; }
  out.push(`${ram} pages RAM`, "0 pages HighMem/MovableOnly", `${reserved} pages reserved`, "0 pages cma reserved", "0 pages hwpoisoned");
  return out;
}
