/**
 * Page reclaim (mm/vmscan.c with the classic active/inactive LRU, MGLRU off): which pages to
 * evict and how — scan balance between anon and file by swappiness (get_scan_count), ageing of
 * the active lists (shrink_active_list), the inactive lists' scan with the reference checks of
 * folio_check_references, unmapping through the reverse map (try_to_unmap), swap-out of anonymous
 * pages and dropping (or writing back) file pages (shrink_folio_list), shadow entries for refault
 * detection, kswapd (balance to the high watermark) and direct reclaim, MADV_COLD/MADV_PAGEOUT,
 * mlock's unevictable list, and drop_caches.
 *
 * Referenced-ness comes from the Accessed bits the core's walker sets: folio_referenced tests and
 * clears A in every PTE that maps the page. On x86 Linux clears A without a TLB flush
 * (ptep_clear_flush_young is ptep_test_and_clear_young there), so a page whose translation stays
 * cached is not seen referenced again until its entry leaves the TLB — the model does the same.
 * Unmapping flushes, once per mm per batch.
 *
 * Which pages go is the replacement policy's decision (policy.ts: Linux's by default; FIFO, Clock,
 * exact LRU and Belady's OPT for experiments): it picks the pages of a list to try and answers the
 * reference check. Everything else here — how many pages of which list, when, and how a page is
 * evicted — is the same for every policy.
 *
 * For experiments, a resident limit (residentLimit, `wasmmu replay --frames`) caps the pages on the
 * evictable lists: after each fault or system call the excess is reclaimed, exactly that many
 * pages, in the policy's order, the pages of the current memory reference not among the
 * candidates — a process run in N page frames, as in the textbooks. Linux has no such limit
 * (memory.max reclaims SWAP_CLUSTER_MAX pages at a time, among all of the group's pages).
 *
 * Memory groups (memcg.ts) give every group its own lruvec: a page is on its group's lists
 * (lruvecOf: folio_lruvec), global reclaim and kswapd visit every group's lruvec in turn at each
 * priority (shrink_node_memcgs; the scan decisions of prepare_scan_control are taken over the sum
 * of the lists reclaim visits), and a group over its limit reclaims from its own subtree's only
 * (memcgReclaim: try_to_free_mem_cgroup_pages). Which lruvecs exist, which one holds a page, how
 * much swap a group may still use and its swappiness come from the LruvecSource the memory
 * controller installs; without it there is the one node lruvec, and reclaim does exactly what it
 * did before groups existed.
 *
 * The lists themselves — where pages enter and leave them, activation, mlock, the Accessed-bit
 * test, the policy in force, the groups' lruvecs — are lrulists.ts, which Reclaim extends.
 *
 * Owns: the reclaim settings (swappiness, kswapd's failures), the scan and eviction.
 */
import { pageFlag } from "../machine/frames.js";
import type { Mm } from "./mm.js";
import { TlbUnmapBatch } from "./tlb.js";
import {
  LruVec, LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE,
} from "./lru.js";
import { workingsetEviction, workingsetEvictionInto } from "./workingset.js";
import { PTE_DIRTY, PTE_PRESENT, PTE_PROTNONE, ptePfn, swapPte } from "../machine/pgtable.js";
import { swpType, swpOffset } from "./swap.js";
import { VM_EXEC } from "./proc/vmflags.js";
import { splitHugePmd, HPAGE_PMD_SIZE } from "./huge.js";
import { type PageReplacementName, type Reference } from "./policy.js";
import { LruLists, sumSizes } from "./lrulists.js";

export type { LruvecSource, ReclaimContext } from "./lrulists.js";

const PG_ACTIVE = pageFlag("active");
const PG_WORKINGSET = pageFlag("workingset");
const PG_SWAPBACKED = pageFlag("swapbacked");
const PG_SWAPCACHE = pageFlag("swapcache");
const PG_DIRTY = pageFlag("dirty");
const PG_WRITEBACK = pageFlag("writeback");
const PG_UNEVICTABLE = pageFlag("unevictable");
const PG_LRU = pageFlag("lru");
const PG_LOCKED = pageFlag("locked");
const PG_RECLAIM = pageFlag("reclaim");

/** SWAP_CLUSTER_MAX: pages reclaim works on at a time. */
export const SWAP_CLUSTER_MAX = 32;
/** DEF_PRIORITY: a scan looks at list_size >> priority pages, priority falling from 12 to 0. */
export const DEF_PRIORITY = 12;
/** Reclaim runs the resident limit's check makes at most (see enforceLimit). */
const LIMIT_PASSES = 3;
/** MAX_SWAPPINESS (6.x): vm.swappiness ranges 0..200. */
export const MAX_SWAPPINESS = 200;

export type { PageReplacementName };


/** One reclaim pass's state (struct scan_control). */
interface ScanControl {
  nrToReclaim: number;
  nrReclaimed: number;
  nrScanned: number;
  priority: number;
  kswapd: boolean;
  /** Ignore references (MADV_PAGEOUT). */
  ignoreReferences: boolean;
  /** Which active lists may be aged this pass (bit 0 anon, bit 1 file). */
  mayDeactivate: number;
  /** Enough inactive file pages: leave anon alone (cache_trim_mode). */
  cacheTrim: boolean;
  /** Almost no file pages left (file + free ≤ the high watermarks): scan anon only (file_is_tiny). */
  fileIsTiny: boolean;
  /** Reclaim no more than nrToReclaim (the resident limit): isolate only what is still missing. */
  exact: boolean;
  /** The lruvecs this pass visits: every group's, or a group subtree's (target_mem_cgroup). */
  lruvecs: readonly LruVec[];
  /** Reclaim for a memory group over its limit (cgroup_reclaim): no global pgscan/pgsteal_direct, no file_is_tiny. */
  cgroup: boolean;
  /** May anon pages be swapped (may_swap: false when memory+swap is what hit its limit). */
  maySwap: boolean;
}


export class Reclaim extends LruLists {
  /** vm.swappiness (default 60): how much anon is scanned relative to file. */
  swappiness = 60;
  /** kswapd runs in a row that reclaimed nothing (pgdat->kswapd_failures; the OOM report's all_unreclaimable). */
  kswapdFailures = 0;
  /** Inside reclaim: reclaim does not recurse (PF_MEMALLOC). */
  private busy = false;

  // ---- unmapping ----------------------------------------------------------------------------------

  /**
   * try_to_unmap: take every mapping of `pfn` away — an anonymous page in the swap cache leaves a
   * swap entry in each PTE (the slot gains a reference per PTE), a file page leaves an empty PTE, a
   * lazily freed (MADV_FREE) clean page leaves an empty PTE too. A dirty PTE marks the page dirty;
   * a lazily freed page written since goes back to being swap-backed and stays mapped. The TLB
   * entries go with the mm's gather. @returns true when no mapping is left
   */
  private unmap(pfn: number, gathers: TlbUnmapBatch<Mm>): boolean {
    const f = this.frames;
    const anon = f.isAnon(pfn);
    const swapcache = f.test(pfn, PG_SWAPCACHE);
    const entry = swapcache ? f.swapEntry(pfn) : 0;
    const only = this.rmap.onlyMm(pfn);
    if (only !== null) {
      // One mapping (the common case): no list of links to build. PageAnonExclusive unless
      // another PTE holds the page's swap slot (a page swapped in from an entry fork shared is
      // not exclusive, even when only one process maps it again).
      const exclusive = !swapcache || this.ctx.swapOps.swap.area(entry).count(swpOffset(entry)) === 0;
      if (this.unmapOne(pfn, only as Mm, this.rmap.onlyVa(pfn), anon, swapcache, entry, exclusive, gathers) === "redirtied") return false;
      return f.mapcount(pfn) === 0;
    }
    const links = this.rmap.of(pfn); // a fresh array: the loop may remove what it walks
    for (const l of links) {
      if (this.unmapOne(pfn, l.mm as Mm, l.va, anon, swapcache, entry, false, gathers) === "redirtied") return false;
    }
    return f.mapcount(pfn) === 0;
  }

  /**
   * try_to_unmap_one for the PTE of `mm` at `va` (if it still maps `pfn`). @returns "redirtied"
   * for a lazily freed page written since (it stays mapped, back on the anon lists)
   */
  private unmapOne(pfn: number, mm: Mm, va: number, anon: boolean, swapcache: boolean, entry: number, exclusive: boolean, gathers: TlbUnmapBatch<Mm>): "done" | "redirtied" {
    const f = this.frames;
    const pt = mm.pt;
    let i = pt.pteWord(va);
    if (i < 0) {
      splitHugePmd(this.ctx, mm, va - (va % HPAGE_PMD_SIZE));
      i = pt.pteWord(va);
      if (i < 0) return "done";
    }
    const lo = pt.w[i];
    if ((lo & (PTE_PRESENT | PTE_PROTNONE)) === 0 || ptePfn(lo, pt.w[i + 1]) !== pfn) return "done";
    if ((lo & PTE_DIRTY) !== 0) f.set(pfn, PG_DIRTY);
    if (anon && !f.test(pfn, PG_SWAPBACKED) && f.test(pfn, PG_DIRTY)) {
      // Written after MADV_FREE: it is data again, back on the anon lists.
      this.lruvecOf(pfn).move(pfn, () => f.set(pfn, PG_SWAPBACKED));
      return "redirtied";
    }
    gathers.page(mm, va);
    if (anon && swapcache) {
      const sp = swapPte(swpType(entry), swpOffset(entry), exclusive);
      pt.setPte(i, va, sp.lo, sp.hi, "swap");
      this.ctx.swapOps.swap.area(entry).dup(swpOffset(entry));
      mm.swapEnts++;
    } else {
      pt.setPte(i, va, 0, 0, "zap");
      if (!anon && (lo & PTE_DIRTY) !== 0) {
        const b = this.cache.owner(pfn);
        if (b !== undefined) this.cache.markDirty(b, f.index(pfn));
      }
    }
    this.rmap.remove(pfn, mm, va);
    if (anon) mm.rssAnon--; else if (f.test(pfn, PG_SWAPBACKED)) mm.rssShmem--; else mm.rssFile--;
    return "done";
  }

  // ---- shrinking the lists ------------------------------------------------------------------------

  /** inactive_is_low: the inactive list is smaller than the active one times inactive_ratio (`v`: an lruvec, or the sizes of several). */
  inactiveIsLow(v: { readonly size: ArrayLike<number> }, inactive: number): boolean {
    const inact = v.size[inactive];
    const act = v.size[inactive + 1];
    const gb = Math.floor((inact + act) / 262144);
    const ratio = gb ? Math.floor(Math.sqrt(10 * gb)) : 1;
    return inact * ratio < act;
  }

  /** can_reclaim_anon_pages: swapping is allowed this pass and the lruvec's group has swap room left. */
  private canReclaimAnon(v: LruVec, sc: ScanControl): boolean {
    return sc.maySwap && this.source.swapRoom(v) > 0;
  }

  /**
   * get_scan_count: how many pages of each evictable list to scan at `sc.priority`. Without swap
   * only file pages; otherwise swappiness against the recent reclaim cost of each kind.
   */
  private scanCounts(v: LruVec, sc: ScanControl): number[] {
    const nr = [0, 0, 0, 0];
    const sizes = [v.size[LRU_INACTIVE_ANON], v.size[LRU_ACTIVE_ANON], v.size[LRU_INACTIVE_FILE], v.size[LRU_ACTIVE_FILE]];
    let fraction = [1, 1];
    let denominator = 2;
    let balance: "file" | "anon" | "equal" | "fract";
    const swappiness = this.source.swappiness(v, this.swappiness);
    if (!this.canReclaimAnon(v, sc)) balance = "file";
    else if (sc.cgroup && swappiness === 0) balance = "file";
    else if (sc.priority === 0 && swappiness > 0) balance = "equal";
    else if (sc.fileIsTiny) balance = "anon";
    else if (sc.cacheTrim) balance = "file";
    else balance = "fract";
    if (balance === "fract") {
      // Decay the costs once they exceed a quarter of the lists (lru_note_cost's halving).
      if (v.cost[0] + v.cost[1] > (v.anon() + v.file()) / 4) { v.cost[0] /= 2; v.cost[1] /= 2; }
      const total = v.cost[0] + v.cost[1];
      const anonCost = total + v.cost[0];
      const fileCost = total + v.cost[1];
      const all = anonCost + fileCost;
      const ap = Math.floor((swappiness * (all + 1)) / (anonCost + 1));
      const fp = Math.floor(((MAX_SWAPPINESS - swappiness) * (all + 1)) / (fileCost + 1));
      fraction = [ap, fp];
      denominator = ap + fp;
    }
    for (let lru = 0; lru < 4; lru++) {
      const file = lru >= LRU_INACTIVE_FILE ? 1 : 0;
      let scan = Math.floor(sizes[lru] / 2 ** sc.priority);
      // SCAN_FRACT divides rounding down (div64_u64: the root memory group is online); SCAN_FILE
      // and SCAN_ANON scan one kind only.
      if (balance === "fract") scan = denominator === 0 ? 0 : Math.floor((scan * fraction[file]) / denominator);
      else if (balance === "file" && !file) scan = 0;
      else if (balance === "anon" && file) scan = 0;
      nr[lru] = scan;
    }
    return nr;
  }

  /** shrink_lruvec: scan the lists in SWAP_CLUSTER_MAX slices until enough is reclaimed. */
  private shrinkLruvec(v: LruVec, sc: ScanControl): void {
    const nr = this.scanCounts(v, sc);
    while (nr[LRU_INACTIVE_ANON] > 0 || nr[LRU_ACTIVE_FILE] > 0 || nr[LRU_INACTIVE_FILE] > 0) {
      for (const lru of [LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE]) {
        if (nr[lru] <= 0) continue;
        let n = Math.min(nr[lru], SWAP_CLUSTER_MAX);
        // The resident limit's reclaim isolates only what is still missing, and scans no more than that of the budget.
        if (sc.exact && (lru === LRU_INACTIVE_ANON || lru === LRU_INACTIVE_FILE)) n = Math.min(n, sc.nrToReclaim - sc.nrReclaimed);
        if (n <= 0) continue;
        nr[lru] -= n;
        this.shrinkList(v, lru, n, sc);
      }
      if (sc.nrReclaimed >= sc.nrToReclaim) break;
    }
    // Age the anon active list even when anon is not scanned, so it is ready when it is.
    // can_age_anon_pages: aging the anon lists is worth it whenever swap exists, full or not.
    if (this.ctx.swapOps.swap.totalPages > 0 && this.inactiveIsLow(v, LRU_INACTIVE_ANON)) this.shrinkActive(v, LRU_ACTIVE_ANON, SWAP_CLUSTER_MAX, sc);
  }

  /** shrink_list: an active list is aged only when its inactive one is low; an inactive list is reclaimed from. */
  private shrinkList(v: LruVec, lru: number, n: number, sc: ScanControl): void {
    if (lru === LRU_ACTIVE_ANON || lru === LRU_ACTIVE_FILE) {
      if (sc.mayDeactivate & (lru === LRU_ACTIVE_FILE ? 2 : 1)) this.shrinkActive(v, lru, n, sc);
      return;
    }
    this.shrinkInactive(v, lru, n, sc);
  }

  /**
   * shrink_active_list: take `n` pages off the tail of an active list; referenced executable file
   * pages get another round, the rest go to the inactive list (PG_workingset set), their A bits
   * cleared on the way.
   */
  private shrinkActive(v: LruVec, lru: number, n: number, sc: ScanControl): void {
    void sc;
    const f = this.frames;
    const taken: number[] = [];
    for (let p = v.last(lru); p >= 0 && taken.length < n; p = v.prevOf(p)) taken.push(p);
    let scanned = 0;
    let deactivated = 0;
    for (const pfn of taken) {
      const pages = this.pages(pfn);
      scanned += pages;
      const { count, vmFlags } = this.referenced(pfn);
      if (count > 0 && (vmFlags & VM_EXEC) !== 0 && lru === LRU_ACTIVE_FILE) {
        v.move(pfn, () => {});
        continue;
      }
      v.move(pfn, () => { f.clear(pfn, PG_ACTIVE); f.set(pfn, PG_WORKINGSET); });
      deactivated += pages;
    }
    this.stat.pgrefill += scanned;
    this.stat.pgdeactivate += deactivated;
  }

  /** shrink_inactive_list: take `n` pages off the tail of an inactive list and try to free them. */
  private shrinkInactive(v: LruVec, lru: number, n: number, sc: ScanControl): void {
    const taken = this.current.isolate(v, lru, n, this.host);
    if (taken.length === 0) return;
    const file = lru === LRU_INACTIVE_FILE;
    let scanned = 0;
    for (const pfn of taken) scanned += this.pages(pfn);
    // A memory group's own reclaim counts in the group's events, not in the global pgscan_direct.
    if (sc.kswapd) { this.stat.pgscan_kswapd += scanned; v.events.pgscan_kswapd += scanned; } else { if (!sc.cgroup) this.stat.pgscan_direct += scanned; v.events.pgscan_direct += scanned; }
    if (file) this.stat.pgscan_file += scanned; else this.stat.pgscan_anon += scanned;
    sc.nrScanned += scanned;
    const before = sc.nrReclaimed;
    this.shrinkFolioList(taken, sc);
    const reclaimed = sc.nrReclaimed - before;
    if (sc.kswapd) { this.stat.pgsteal_kswapd += reclaimed; v.events.pgsteal_kswapd += reclaimed; } else { if (!sc.cgroup) this.stat.pgsteal_direct += reclaimed; v.events.pgsteal_direct += reclaimed; }
    if (file) this.stat.pgsteal_file += reclaimed; else this.stat.pgsteal_anon += reclaimed;
    v.cost[file ? 1 : 0] += scanned - reclaimed; // lru_note_cost: pages scanned but kept
  }

  /**
   * shrink_folio_list: for each page, decide (references), make anon pages swap-cache pages, unmap,
   * write dirty ones out, and free what is clean and unreferenced. Survivors go back to their list
   * (active ones to the active list). Reclaim holds a reference on each page while it works on it
   * (the isolation's), so no unmapping frees a page under it.
   */
  private shrinkFolioList(pfns: readonly number[], sc: ScanControl): void {
    const f = this.frames;
    const gathers = new TlbUnmapBatch<Mm>(this.tlb);
    const flush = () => gathers.flush();
    for (const pfn0 of pfns) {
      if (!f.test(pfn0, PG_LRU)) continue; // freed or moved by an earlier page of this batch
      if (f.test(pfn0, PG_UNEVICTABLE)) continue;
      if (f.test(pfn0, PG_LOCKED)) { this.lruvecOf(pfn0).move(pfn0, () => {}); continue; } // folio_trylock failed: keep
      // Under writeback (its swap write not done): PG_reclaim, and activated (shrink_folio_list's
      // case 2) where the policy has active lists; the write's end does not rotate an active page.
      if (f.test(pfn0, PG_WRITEBACK)) {
        f.set(pfn0, PG_RECLAIM);
        if (this.current.activeLists) this.activate(pfn0); else this.lruvecOf(pfn0).move(pfn0, () => {});
        continue;
      }
      const ref: Reference = sc.ignoreReferences ? "reclaim" : this.current.check(pfn0, this.host);
      if (ref === "mlocked") { this.mlock(pfn0); continue; }
      if (ref === "activate" && this.current.activeLists) { this.activate(pfn0); continue; }
      if (ref === "activate" || ref === "keep") { this.lruvecOf(pfn0).move(pfn0, () => {}); continue; }
      // split_folio_to_list: a huge anonymous page is swapped as single pages; the head goes on,
      // the others are on the list for the next scan.
      if (f.isAnon(pfn0) && f.order(pfn0) > 0) this.splitForReclaim(pfn0);
      f.get(pfn0);
      const outcome = this.reclaimOne(pfn0, ref, gathers, flush);
      if (outcome === "freed") sc.nrReclaimed += 1;
    }
    flush();
  }

  /**
   * One page of shrink_folio_list past the reference check, reclaim's own reference held (and
   * dropped here). @returns what became of it
   */
  private reclaimOne(pfn: number, ref: Reference, gathers: TlbUnmapBatch<Mm>, flush: () => void): "freed" | "kept" {
    const f = this.frames;
    const v = this.lruvecOf(pfn);
    const anon = f.isAnon(pfn);
    if (anon && f.test(pfn, PG_SWAPBACKED) && !f.test(pfn, PG_SWAPCACHE)) {
      if (!this.ctx.swapOps.addToSwap(pfn)) return this.keep(pfn, v, true); // swap full: activate_locked
    }
    if (f.mapcount(pfn) > 0 && !this.unmap(pfn, gathers)) return this.keep(pfn, v, true);
    if (f.test(pfn, PG_DIRTY)) {
      flush(); // no CPU may write through a stale entry once the write starts
      if (anon && f.test(pfn, PG_SWAPCACHE)) {
        const w = this.ctx.swapOps.writeOut(pfn);
        if (w === "pending") return this.keep(pfn, v, false);
        if (w === "error") return this.keep(pfn, v, true);
      } else if (!anon) {
        const b = this.cache.owner(pfn);
        if (b === undefined || b.source === null) return this.keep(pfn, v, true); // shmem: not swapped in this model
        if (ref === "reclaim-clean") return this.keep(pfn, v, false);
        this.cache.writeback(b, f.index(pfn), f.index(pfn));
        this.stat.nr_vmscan_write++;
      }
    }
    // Only reclaim's reference and the cache's (swap cache or page cache) may be left; a lazily
    // freed page has no cache.
    const cached = f.test(pfn, PG_SWAPCACHE) || !anon;
    if (f.refcount(pfn) !== (cached ? 2 : 1) || f.mapcount(pfn) !== 0) return this.keep(pfn, v, false);
    this.free(pfn, v);
    return "freed";
  }
  /** keep_locked / activate_locked: the page stays (on the active list when `activate`), reclaim's reference dropped. */
  private keep(pfn: number, v: LruVec, activate: boolean): "kept" {
    if (activate) this.activate(pfn); else v.move(pfn, () => {});
    this.unref(pfn);
    return "kept";
  }


  /** Drop reclaim's reference; a page whose last reference that was is freed (it had left every mapping and cache meanwhile). */
  private unref(pfn: number): void {
    if (this.frames.put(pfn) === 0 && this.frames.isAnon(pfn)) this.rmap.freeAnon(pfn);
  }

  /** __remove_mapping + free: out of the swap cache or page cache with a shadow, reclaim's reference dropped, the frame freed. */
  private free(pfn: number, v: LruVec): void {
    const f = this.frames;
    if (f.isAnon(pfn)) {
      // The swap cache copies the shadow into its slot at once: a reused record will do.
      const shadow = workingsetEvictionInto(v, f, pfn, this.evicted);
      if (f.test(pfn, PG_SWAPCACHE)) {
        this.ctx.swapOps.removeMapping(pfn, shadow);
      } else {
        this.stat.pglazyfreed++; // a lazily freed page: no swap copy, nothing to keep
      }
      this.unref(pfn);
      return;
    }
    const shadow = workingsetEviction(v, f, pfn); // the page cache keeps this one
    f.put(pfn);
    const b = this.cache.owner(pfn);
    if (b !== undefined) this.cache.reclaim(b, f.index(pfn), shadow);
  }

  /** free()'s shadow record for anonymous pages (see workingsetEvictionInto). */
  private readonly evicted = { age: 0, lruvec: 0, workingset: false };

  /**
   * Split an anonymous huge page for swap-out: its PMD mappings become PTEs and the folio 512
   * single pages, each on the list the head was on (the kernel's split_page hook).
   */
  private splitForReclaim(pfn: number): void {
    for (const l of [...this.rmap.of(pfn)]) splitHugePmd(this.ctx, l.mm as Mm, l.va);
    if (this.frames.order(pfn) > 0) this.ctx.splitPage(pfn);
  }

  // ---- entry points -----------------------------------------------------------------------------------

  private scanControl(nrToReclaim: number, kswapd: boolean, lruvecs: readonly LruVec[] = this.lruvecs): ScanControl {
    const v = sumSizes(lruvecs);
    const sc: ScanControl = { nrToReclaim, nrReclaimed: 0, nrScanned: 0, priority: DEF_PRIORITY, kswapd, ignoreReferences: false, mayDeactivate: 0, cacheTrim: false, fileIsTiny: false, exact: false, lruvecs, cgroup: false, maySwap: true };
    // prepare_scan_control: age a list's active pages when its inactive list is low (or refaults happened).
    if (this.inactiveIsLow(v, LRU_INACTIVE_ANON)) sc.mayDeactivate |= 1;
    if (this.inactiveIsLow(v, LRU_INACTIVE_FILE)) sc.mayDeactivate |= 2;
    return sc;
  }

  /** One reclaim run at falling priorities until `sc` has enough (do_try_to_free_pages / balance_pgdat). */
  private run(sc: ScanControl, done: () => boolean, by: "kswapd" | "direct" | "limit" | "memcg" = sc.kswapd ? "kswapd" : "direct"): number {
    if (this.busy) return 0;
    this.busy = true;
    try {
      for (sc.priority = DEF_PRIORITY; sc.priority >= 0 && !done(); sc.priority--) this.shrinkNode(sc);
    } finally {
      this.busy = false;
    }
    if (this.events.on.reclaim) this.events.emit({ type: "reclaim", by, scanned: sc.nrScanned, reclaimed: sc.nrReclaimed });
    return sc.nrReclaimed;
  }

  /**
   * shrink_node at sc.priority: prepare_scan_control's decisions over the lists the pass visits
   * (the target's lruvec, whose counts are its subtree's), then shrink_node_memcgs: shrink_lruvec
   * on each visited lruvec in turn.
   */
  private shrinkNode(sc: ScanControl): void {
    const v = sumSizes(sc.lruvecs);
    if (this.inactiveIsLow(v, LRU_INACTIVE_ANON)) sc.mayDeactivate |= 1;
    if (this.inactiveIsLow(v, LRU_INACTIVE_FILE)) sc.mayDeactivate |= 2;
    const inactiveFile = v.size[LRU_INACTIVE_FILE];
    sc.cacheTrim = Math.floor(inactiveFile / 2 ** sc.priority) > 0 && (sc.mayDeactivate & 2) === 0;
    // prepare_scan_control (global reclaim only): file pages plus free pages at or below the high watermarks.
    sc.fileIsTiny = !sc.cgroup && v.size[LRU_INACTIVE_FILE] + v.size[LRU_ACTIVE_FILE] + this.ctx.alloc.freePages() <= this.ctx.alloc.highWatermarks()
      && (sc.mayDeactivate & 1) === 0 && Math.floor(v.size[LRU_INACTIVE_ANON] / 2 ** sc.priority) > 0;
    // shrink_node_memcgs with a reclaim cookie: kswapd walks every lruvec; other reclaimers go on
    // from where the last walk of the same target stopped, to the end, and stop once they have
    // reclaimed enough (partial walks), so the groups take turns rather than the first paying.
    const all = sc.lruvecs;
    const partial = !sc.kswapd && all.length > 1;
    const from = partial ? (this.walkFrom.get(all[0]) ?? 0) % all.length : 0;
    for (let i = from; i < all.length; i++) {
      this.shrinkLruvec(all[i], sc);
      if (partial && sc.nrReclaimed >= sc.nrToReclaim) { this.walkFrom.set(all[0], i + 1); return; }
    }
    if (partial) this.walkFrom.set(all[0], 0);
  }

  /** Where the next partial walk over a target's lruvecs starts (mem_cgroup_reclaim_iter's position), by the target's own lruvec. */
  private readonly walkFrom = new WeakMap<LruVec, number>();

  /**
   * Direct reclaim (try_to_free_pages) by an allocating task that found the zones below the min
   * watermark: SWAP_CLUSTER_MAX pages, counted in allocstall. @returns pages reclaimed
   */
  direct(): number {
    this.stat.allocstall_normal++;
    const sc = this.scanControl(SWAP_CLUSTER_MAX, false);
    return this.run(sc, () => sc.nrReclaimed >= sc.nrToReclaim);
  }

  /**
   * kswapd (balance_pgdat): woken when an allocation found the zones below their low watermark,
   * reclaims until some zone is above its high watermark again. Each pass at a priority asks for
   * the high watermarks' worth of pages (kswapd_shrink_node); the priority rises (the number
   * falls) when a pass scanned less than that or reclaimed nothing; kswapd gives up below
   * priority 1. @returns pages reclaimed
   */
  kswapd(): number {
    this.ctx.alloc.kswapdWanted = false;
    if (this.ctx.alloc.watermarkOk("high") || this.busy) return 0;
    this.stat.pageoutrun++;
    const sc = this.scanControl(0, true);
    this.busy = true;
    try {
      for (sc.priority = DEF_PRIORITY; sc.priority >= 1 && !this.ctx.alloc.watermarkOk("high");) {
        sc.nrToReclaim = sc.nrReclaimed + Math.max(SWAP_CLUSTER_MAX, this.ctx.alloc.highWatermarks());
        const scanned0 = sc.nrScanned;
        const reclaimed0 = sc.nrReclaimed;
        this.shrinkNode(sc);
        const raise = sc.nrScanned - scanned0 < sc.nrToReclaim - reclaimed0;
        if (raise || sc.nrReclaimed === reclaimed0) sc.priority--;
      }
    } finally {
      this.busy = false;
    }
    this.kswapdFailures = sc.nrReclaimed === 0 ? this.kswapdFailures + 1 : 0;
    if (this.events.on.reclaim) this.events.emit({ type: "reclaim", by: "kswapd", scanned: sc.nrScanned, reclaimed: sc.nrReclaimed });
    return sc.nrReclaimed;
  }

  /**
   * try_to_free_mem_cgroup_pages: a memory group over its limit reclaims from its own lruvecs
   * (`lruvecs`: its subtree's, the group's first) — at least SWAP_CLUSTER_MAX pages, at falling
   * priorities as direct reclaim does, anon only when `maySwap` and the group has swap room. Not
   * counted in allocstall nor in the global pgscan/pgsteal_direct (the groups' events have it).
   * @returns pages reclaimed
   */
  memcgReclaim(lruvecs: readonly LruVec[], nrPages: number, maySwap: boolean): number {
    const sc = this.scanControl(Math.max(nrPages, SWAP_CLUSTER_MAX), false, lruvecs);
    sc.cgroup = true;
    sc.maySwap = maySwap;
    return this.run(sc, () => sc.nrReclaimed >= sc.nrToReclaim, "memcg");
  }

  /** MADV_PAGEOUT (reclaim_pages): reclaim these pages now, references ignored. @returns pages reclaimed */
  pageout(pfns: readonly number[]): number {
    const sc = this.scanControl(pfns.length, false);
    sc.ignoreReferences = true;
    const ok = pfns.filter((p) => this.frames.test(p, PG_LRU) && !this.frames.test(p, PG_UNEVICTABLE));
    if (this.busy) return 0;
    this.busy = true;
    try {
      this.shrinkFolioList(ok, sc);
    } finally {
      this.busy = false;
    }
    if (this.events.on.reclaim) this.events.emit({ type: "reclaim", by: "pageout", scanned: ok.length, reclaimed: sc.nrReclaimed });
    return sc.nrReclaimed;
  }

  /**
   * The resident limit: the pages arriving from now until the next call serve one memory reference
   * (a trace record, which may need two pages: one that straddles them, or a page and its copy on
   * write), so none of them is a candidate of the limit's reclaim until the reference is done —
   * else a reference that needs more pages than the limit could evict its own first page to bring
   * in its second, for ever. Without calls, each check (enforceLimit) ends a reference.
   */
  beginReference(): void {
    this.referenceMarks = true;
    this.arrived = [];
  }

  /**
   * The resident limit's check, run after each fault and system call (Linux.balance): when the
   * evictable lists hold more than residentLimit pages, reclaim exactly the excess, in the
   * policy's order. The pages of the current reference (beginReference) wait off the lists
   * meanwhile and go back at their heads after, so the choice is among the pages resident before —
   * as a textbook replacement happens before the new page comes in. When the older pages cannot
   * give enough (a reference needing more pages than the limit, swap full), the lists stay over
   * the limit until the next check.
   * @returns pages reclaimed
   */
  enforceLimit(): number {
    if (this.residentLimit === Infinity) return 0;
    const arrived = this.arrived;
    if (!this.referenceMarks) this.arrived = [];
    const f = this.frames;
    const excess = this.nodeSize(LRU_INACTIVE_ANON) + this.nodeSize(LRU_ACTIVE_ANON) + this.nodeSize(LRU_INACTIVE_FILE) + this.nodeSize(LRU_ACTIVE_FILE) - this.residentLimit;
    if (excess <= 0 || this.busy) return 0;
    const aside = arrived.filter((pfn) => f.test(pfn, PG_LRU) && !f.test(pfn, PG_UNEVICTABLE));
    for (const pfn of aside) this.lruvecOf(pfn).del(pfn);
    const sc = this.scanControl(excess, false);
    sc.exact = true;
    try {
      // A pass from DEF_PRIORITY to 0 scans about 1.5 times the list; a policy that spares pages
      // on the way (Clock clearing A bits, Linux activating) finds its victims on a later pass.
      for (let pass = 0; pass < LIMIT_PASSES && sc.nrReclaimed < sc.nrToReclaim; pass++) {
        const before = sc.nrReclaimed;
        this.run(sc, () => sc.nrReclaimed >= sc.nrToReclaim, "limit");
        if (sc.nrReclaimed === before && sc.nrScanned === 0) break;
      }
    } finally {
      for (const pfn of aside) this.lruvecOf(pfn).add(pfn);
    }
    return sc.nrReclaimed;
  }

}
