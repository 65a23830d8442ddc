/**
 * Swap-in readahead (mm/swap_state.c): which slots a major swap fault reads besides its own —
 * around the faulting address in the VMA's page table when every swap area is non-rotational
 * (swap_vma_readahead, the default with enable_vma_readahead), else the aligned cluster of slots
 * around the entry (swap_cluster_readahead) — and how the window adapts (__swapin_nr_pages):
 * none until accesses look sequential or read-ahead pages are hit, then up to 2^page-cluster.
 *
 * Owns: each VMA's swap_readahead_info, the cluster readahead's global state and
 * vma_ra_enabled. Does not read anything: SwapOps reads the slots this module names.
 */
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { SwapSpace } from "./swap.js";
import { PAGE_SIZE, pteMapsFrame } from "../machine/pgtable.js";
import { swpEntry, swpOffset, pteSwapEntry, pteHoldsSwap } from "./swapentry.js";

/** SWAP_RA_ORDER_CEILING on 64-bit: the VMA window is at most 2^5 pages whatever page-cluster says. */
const SWAP_RA_ORDER_CEILING = 5;
/** SWAP_RA_HITS_MAX: the hit count lives in PAGE_SHIFT/2 bits of swap_readahead_info. */
const SWAP_RA_HITS_MAX = 63;
const PMD_SIZE = 2 * 1024 * 1024;

/**
 * __swapin_nr_pages: the readahead window. "hits + 2" rounded up to a power of two (at least 4)
 * when readahead pages were hit; with no hits, 2 pages if this fault is next to the previous one,
 * else 1; at most `maxPages`; and never below half the previous window.
 */
export function swapinNrPages(prevOffset: number, offset: number, hits: number, maxPages: number, prevWin: number): number {
  let pages = hits + 2;
  if (pages === 2) {
    if (offset !== prevOffset + 1 && offset !== prevOffset - 1) pages = 1;
  } else {
    let roundup = 4;
    while (roundup < pages) roundup <<= 1;
    pages = roundup;
  }
  if (pages > maxPages) pages = maxPages;
  const lastRa = Math.floor(prevWin / 2);
  if (pages < lastRa) pages = lastRa;
  return pages;
}

/** The readahead state of the swap areas `swap` holds (one per kernel). */
export class SwapReadahead {
  /** /sys/kernel/mm/swap/vma_ra_enabled. */
  vmaRaEnabled = true;
  private readonly swap: SwapSpace;
  private readonly raInfo = new WeakMap<Vma, { addr: number; win: number; hits: number }>();
  /** swapin_readahead_hits, prev_offset and last_readahead_pages of the cluster readahead. */
  private clusterHits = 0;
  private prevOffset = 0;
  private lastReadaheadPages = 0;

  constructor(swap: SwapSpace) {
    this.swap = swap;
  }

  /**
   * swapin_readahead's window for the fault on `entry` at `va` of `vma` in `mm`, with
   * vm.page-cluster `pageCluster`. @returns the entries to read ahead (the faulting one not among
   * them; cached and free slots not yet skipped), and the window's state moved on
   */
  window(entry: number, mm: Mm | null, vma: Vma | null, va: number, pageCluster: number): number[] {
    const out: number[] = [];
    if (mm !== null && vma !== null && this.useVma()) {
      const maxWin = 1 << Math.min(pageCluster, SWAP_RA_ORDER_CEILING);
      if (maxWin === 1) return out;
      const ra = this.vmaRa(vma);
      const prev = ra.addr;
      const win = swapinNrPages(prev / PAGE_SIZE, va / PAGE_SIZE, ra.hits, maxWin, ra.win);
      ra.addr = va; ra.win = win; ra.hits = 0;
      if (win === 1) return out;
      let left: number;
      if (va === prev + PAGE_SIZE) left = va;
      else if (prev === va + PAGE_SIZE) left = va - win * PAGE_SIZE + PAGE_SIZE;
      else left = va - Math.floor((win - 1) / 2) * PAGE_SIZE;
      const right = left + win * PAGE_SIZE;
      const pmd = va - (va % PMD_SIZE);
      const start = Math.max(left, vma.start, pmd);
      const end = Math.min(right, vma.end, pmd + PMD_SIZE);
      const pt = mm.pt;
      for (let a = start; a < end; a += PAGE_SIZE) {
        if (a === va) continue;
        const i = pt.pteWord(a);
        if (i < 0) continue;
        const lo = pt.w[i];
        const hi = pt.w[i + 1];
        if ((lo | hi) === 0 || pteMapsFrame(lo) || !pteHoldsSwap(hi)) continue;
        out.push(pteSwapEntry(lo, hi));
      }
      return out;
    }
    // swap_cluster_readahead: a global window, adjacent offsets or readahead hits open it.
    // swapin_nr_pages: page-cluster 0 reads the page alone, and leaves the hits and the
    // previous offset as they are.
    if (pageCluster === 0) return out;
    const off = swpOffset(entry);
    const hits = this.clusterHits;
    this.clusterHits = 0;
    const pages = swapinNrPages(this.prevOffset, off, hits, 1 << pageCluster, this.lastReadaheadPages);
    if (hits === 0) this.prevOffset = off;
    this.lastReadaheadPages = pages;
    const mask = pages - 1;
    if (mask === 0) return out;
    const a = this.swap.area(entry);
    const start = Math.max(1, off & ~mask);
    const end = Math.min(a.backend.pages - 1, off | mask);
    for (let o = start; o <= end; o++) if (o !== off) out.push(swpEntry(a.type, o));
    return out;
  }

  /**
   * A swap-cache lookup at `va` of `vma` found its page (swap_cache_get_folio); `readahead`: the
   * page had been read ahead (swap_ra_hit), which widens the next window.
   */
  hit(vma: Vma | null, va: number, readahead: boolean): void {
    if (vma !== null && this.useVma()) {
      const ra = this.vmaRa(vma);
      if (readahead) ra.hits = Math.min(ra.hits + 1, SWAP_RA_HITS_MAX);
      ra.addr = va;
    } else if (readahead) {
      this.clusterHits++;
    }
  }

  /** swap_use_vma_readahead: enable_vma_readahead (default true) and no rotational swap area (nr_rotate_swap). */
  private useVma(): boolean {
    if (!this.vmaRaEnabled) return false;
    for (const a of this.swap.active) if (a.rotational) return false; // (asked on every swap fault: no closure, only the areas in use)
    return true;
  }

  /** The VMA's swap_readahead_info (its last fault address, window and readahead hits). */
  private vmaRa(vma: Vma): { addr: number; win: number; hits: number } {
    let r = this.raInfo.get(vma);
    if (r === undefined) this.raInfo.set(vma, (r = { addr: 0, win: 0, hits: 0 }));
    return r;
  }
}
