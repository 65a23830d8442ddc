/**
 * Moving anonymous pages to and from swap: add_to_swap and swap_writeout for reclaim
 * (mm/swap_state.c, mm/page_io.c), do_swap_page with cluster readahead for the fault path
 * (mm/memory.c, mm/swap_state.c swap_cluster_readahead), free_swap_and_cache when a PTE holding a
 * swap entry goes, and try_to_unuse for swapoff (mm/swapfile.c).
 *
 * Owns: nothing; works on the swap areas and cache (swap.ts), the frame table, the reverse map
 * and the LRU lists (through the SwapLru hooks).
 */
import type { Machine } from "../machine/Machine.js";
import type { FrameTable } from "../machine/frametable.js";
import { pageFlag } from "../machine/frames.js";
import type { Mm } from "./mm.js";
import type { Vma } from "./vma.js";
import type { ReverseMap } from "./rmap.js";
import type { PageAllocator } from "./pagealloc.js";
import type { VmEvents } from "./vmstat.js";
import type { Shadow } from "./workingset.js";
import type { EventBus } from "./events.js";
import { VM_WRITE, VM_LOCKED } from "./proc/vmflags.js";
import { type KernelLog, KERN_ALERT } from "./klog.js";
import { type SwapSpace, type SwapArea, swpEntry, swpType, swpOffset, pageChecksum, PAGE_SIZE, MAX_SWAPFILES } from "./swap.js";
import { PTE_RW, PTE_DIRTY, PTE_ACCESSED, PTE_SWP_EXCLUSIVE, pteLo, pteHi, swapPteType, swapPteOffset } from "../machine/pgtable.js";

const PG_SWAPCACHE = pageFlag("swapcache");
const PG_DIRTY = pageFlag("dirty");
const PG_UPTODATE = pageFlag("uptodate");
const PG_LOCKED = pageFlag("locked");
const PG_WRITEBACK = pageFlag("writeback");
const PG_READAHEAD = pageFlag("readahead");
const PG_RECLAIM = pageFlag("reclaim");
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** What swapping needs of the LRU code. */
export interface SwapLru {
  /** A page read back from swap goes on an LRU list (after the workingset check on `shadow`). */
  added(pfn: number, shadow: Shadow | undefined): void;
  /** A write finished: the page goes to the tail of the inactive list for quick reclaim (folio_rotate_reclaimable). */
  rotate(pfn: number): void;
}

/** The outcome of writing a swap-cache page out (pageout). */
export type WriteResult = "clean" | "pending" | "error";

/** The model's swap entry of a swap PTE. */
export function pteSwapEntry(lo: number, hi: number): number {
  return swpEntry(swapPteType(hi), swapPteOffset(lo, hi));
}

/** A non-present PTE that holds a real swap entry (not a PTE marker): it counts in MM_SWAPENTS. */
export function pteHoldsSwap(hi: number): boolean {
  return swapPteType(hi) < MAX_SWAPFILES;
}

export class SwapOps {
  /** vm.page-cluster: swap-in reads 2^pageCluster pages around the one faulted (default 3: 8 pages). */
  pageCluster = 3;
  /** Shadows of anonymous pages evicted from the swap cache, by entry. */
  readonly shadows = new Map<number, Shadow>();
  lru: SwapLru = { added: () => {}, rotate: () => {} };
  private readonly machine: Machine;
  private readonly frames: FrameTable;

  private readonly rmap: ReverseMap;
  private readonly alloc: PageAllocator;
  private readonly stat: VmEvents;
  private readonly events: EventBus;
  readonly swap: SwapSpace;

  /** The kernel log: read and write errors are reported there (pr_alert, as end_swap_bio_* do). */
  private readonly log: KernelLog;

  constructor(machine: Machine, swap: SwapSpace, rmap: ReverseMap, alloc: PageAllocator, stat: VmEvents, events: EventBus, log: KernelLog) {
    this.log = log;
    this.machine = machine;
    this.frames = machine.frames.table;
    this.swap = swap;
    this.rmap = rmap;
    this.alloc = alloc;
    this.stat = stat;
    this.events = events;
  }

  /** The swap-cache page of `entry`, or undefined. */
  lookup(entry: number): number | undefined {
    return this.swap.cache.get(entry);
  }

  /**
   * folio_alloc_swap + add_to_swap_cache: give anonymous page `pfn` a slot and put it in the swap
   * cache (one more reference: the cache's), dirty so that reclaim writes it. @returns false when swap is full
   */
  addToSwap(pfn: number): boolean {
    const entry = this.swap.allocSlot();
    if (entry === null) return false;
    this.cacheInsert(pfn, entry);
    this.frames.set(pfn, PG_DIRTY);
    return true;
  }

  private cacheInsert(pfn: number, entry: number): void {
    const f = this.frames;
    f.set(pfn, PG_SWAPCACHE);
    f.setSwapEntry(pfn, entry);
    f.get(pfn);
    this.swap.cache.set(entry, pfn);
  }

  /**
   * delete_from_swap_cache: `pfn` leaves the swap cache (its reference dropped, SWAP_HAS_CACHE
   * cleared on the slot — freeing the slot if no PTE holds it), leaving `shadow` behind.
   * @returns the references left on the page
   */
  cacheDelete(pfn: number, shadow?: Shadow): number {
    const f = this.frames;
    const entry = f.swapEntry(pfn);
    this.swap.cache.delete(entry);
    f.clear(pfn, PG_SWAPCACHE | PG_READAHEAD);
    f.setSwapEntry(pfn, 0);
    const a = this.swap.area(entry);
    a.uncache(swpOffset(entry));
    if (shadow !== undefined && a.count(swpOffset(entry)) > 0) this.shadows.set(entry, shadow);
    return f.put(pfn);
  }

  /**
   * swap_writeout: write swap-cache page `pfn` to its slot. An all-zero page is only noted in the
   * zero map (swpout_zero, no I/O); otherwise the bytes go to the backend with their checksum
   * (pswpout). A backend that writes later leaves the page PG_writeback until it is done.
   */
  writeOut(pfn: number): WriteResult {
    const f = this.frames;
    const entry = f.swapEntry(pfn);
    const a = this.swap.area(entry);
    const off = swpOffset(entry);
    const bytes = this.machine.phys.frame(pfn) ?? ZERO_PAGE;
    f.clear(pfn, PG_DIRTY);
    const zero = isZero(bytes);
    if (this.events.on.swap) this.events.emit({ type: "swap", op: "out", pfn, area: a.type, offset: off, zero });
    if (zero) {
      a.zero[off] = 1;
      this.stat.swpout_zero++;
      return "clean";
    }
    a.zero[off] = 0;
    a.sums[off] = pageChecksum(bytes);
    this.stat.pswpout++;
    this.stat.pgpgout += PAGE_SIZE / 1024;
    let r: void | Promise<void>;
    try {
      r = a.backend.write(off, bytes);
    } catch (e) {
      return this.writeFailed(pfn, a, off, e);
    }
    if (r === undefined) return "clean";
    f.set(pfn, PG_WRITEBACK);
    const done = r.then(() => {
      f.clear(pfn, PG_WRITEBACK);
      if (f.test(pfn, PG_SWAPCACHE)) { f.set(pfn, PG_RECLAIM); this.lru.rotate(pfn); }
    }, (e: unknown) => {
      f.clear(pfn, PG_WRITEBACK);
      this.writeFailed(pfn, a, off, e);
    }).finally(() => a.writing.delete(off));
    a.writing.set(off, done);
    return "pending";
  }

  /** A failed write: the page stays resident and dirty (end_swap_bio_write → folio_mark_dirty), and the kernel says so. */
  private writeFailed(pfn: number, a: SwapArea, off: number, e: unknown): WriteResult {
    this.frames.set(pfn, PG_DIRTY);
    a.sums[off] = 0;
    this.log.printk(KERN_ALERT, `Write-error on swap-device (${deviceOf(a, off)})${e instanceof Error ? `: ${e.message}` : ""}`);
    return "error";
  }

  /**
   * swap_read_folio for slot `off` of `a` into frame `pfn`: zero-map slots read as zeros with no
   * I/O (swpin_zero), others from the backend (pswpin), checked against their checksum.
   * @returns undefined when the bytes are in, a promise for a backend that reads later, or an error
   */
  private readIn(a: SwapArea, off: number, pfn: number): undefined | Promise<void> | { error: string } {
    const bytes = this.machine.phys.frame(pfn);
    if (this.events.on.swap) this.events.emit({ type: "swap", op: "in", pfn, area: a.type, offset: off, zero: a.zero[off] !== 0 });
    if (a.zero[off] !== 0) {
      bytes?.fill(0);
      this.stat.swpin_zero++;
      return undefined;
    }
    this.stat.pswpin++;
    this.stat.pgpgin += PAGE_SIZE / 1024;
    const into = bytes ?? new Uint8Array(PAGE_SIZE);
    const check = (): { error: string } | undefined => (bytes === null || pageChecksum(into) === a.sums[off] ? undefined
      : { error: `Read-error on swap-device (${deviceOf(a, off)}): the bytes read back from ${a.path} do not match what was written` });
    let r: void | Promise<void>;
    try {
      r = a.backend.read(off, into);
    } catch (e) {
      return { error: `Read-error on swap-device (${deviceOf(a, off)})${e instanceof Error ? `: ${e.message}` : ""}` };
    }
    if (r === undefined) return check();
    return r.then(() => {
      const bad = check();
      if (bad !== undefined) throw new Error(bad.error);
    });
  }

  /**
   * swap_cluster_readahead for `entry`: read the aligned window of slots around it (swapinNrPages:
   * up to 2^pageCluster, one slot for faults that readahead does not help) that hold pages and are not cached yet into the swap cache (the others marked PG_readahead,
   * counted in swap_ra). @returns the target's page, a read to wait for, an I/O error, or null
   * when no frame is left
   */
  readahead(entry: number): { pfn: number; read: boolean } | { wait: Promise<void> } | { error: string } | null {
    const a = this.swap.area(entry);
    const off = swpOffset(entry);
    const mask = this.swapinNrPages(off) - 1;
    let target: { pfn: number; read: boolean } | { wait: Promise<void> } | { error: string } | null = null;
    const start = Math.max(1, off & ~mask);
    const end = Math.min(a.backend.pages - 1, off | mask);
    for (let o = mask === 0 ? off : start; o <= (mask === 0 ? off : end); o++) {
      const e = swpEntry(a.type, o);
      if (a.count(o) === 0 || this.swap.cache.has(e)) {
        if (o === off) { const have = this.swap.cache.get(e); if (have !== undefined) target = this.pending(have) ?? { pfn: have, read: false }; }
        continue;
      }
      const r = this.readOne(a, o, e, o !== off);
      if (o === off) target = r;
      else if (r === null) break; // no memory for readahead: stop, the target has its page
    }
    return target;
  }

  /** Readahead pages found in the swap cache by a fault since the last window was sized (swapin_readahead_hits). */
  private raHits = 0;
  /** The slot of the last fault that had no readahead hits to judge by (swapin_nr_pages's prev_offset). */
  private raPrevOffset = 0;
  /** The last window, in pages (last_readahead_pages). */
  private raLastPages = 0;

  /**
   * swapin_nr_pages: the readahead window for a fault on slot `off`, 1 to 2^pageCluster pages. It
   * grows with the readahead pages that faults found in the swap cache since the last window
   * (hits + 2, rounded up to a power of two from 4), and without hits stays at 2 only when the
   * slot is next to the last one, else drops to 1 — never below half the last window at once
   * (__swapin_nr_pages). A sequential pass keeps it at 2^pageCluster; random faults shrink it to a
   * single page, so readahead does not fill memory with pages nobody asked for.
   */
  private swapinNrPages(off: number): number {
    const max = 1 << this.pageCluster;
    if (max <= 1) return 1;
    const hits = this.raHits;
    this.raHits = 0;
    let pages = hits + 2;
    if (pages === 2) {
      if (off !== this.raPrevOffset + 1 && off !== this.raPrevOffset - 1) pages = 1;
    } else {
      let roundup = 4;
      while (roundup < pages) roundup <<= 1;
      pages = roundup;
    }
    if (pages > max) pages = max;
    const lastRa = this.raLastPages >>> 1;
    if (pages < lastRa) pages = lastRa;
    if (hits === 0) this.raPrevOffset = off;
    this.raLastPages = pages;
    return pages;
  }

  /** A read in flight for a cached page, as a wait. */
  private pending(pfn: number): { wait: Promise<void> } | undefined {
    const entry = this.frames.swapEntry(pfn);
    const p = this.reads.get(entry);
    return p === undefined ? undefined : { wait: p };
  }

  private readonly reads = new Map<number, Promise<void>>();

  /** __read_swap_cache_async for one slot: a frame, into the swap cache, locked while read. */
  private readOne(a: SwapArea, off: number, entry: number, ahead: boolean): { pfn: number; read: boolean } | { wait: Promise<void> } | { error: string } | null {
    const pfn = this.alloc.anonPage(undefined, pageFlag("anon") | pageFlag("swapbacked"));
    if (pfn === null) return null;
    const f = this.frames;
    f.setRefcount(pfn, 0);
    a.map[off] |= 0x8000; // SWAP_HAS_CACHE
    this.cacheInsert(pfn, entry);
    if (ahead) { f.set(pfn, PG_READAHEAD); this.stat.swap_ra++; }
    const shadow = this.shadows.get(entry);
    this.shadows.delete(entry);
    const r = this.readIn(a, off, pfn);
    if (r === undefined) {
      f.set(pfn, PG_UPTODATE);
      this.lru.added(pfn, shadow);
      return { pfn, read: true };
    }
    if ("error" in r) {
      this.log.printk(KERN_ALERT, r.error);
      this.dropRead(pfn);
      return ahead ? null : r;
    }
    f.set(pfn, PG_LOCKED);
    const done = r.then(() => {
      f.clear(pfn, PG_LOCKED);
      f.set(pfn, PG_UPTODATE);
      this.lru.added(pfn, shadow);
    }, (e: unknown) => {
      this.log.printk(KERN_ALERT, e instanceof Error ? e.message : String(e));
      this.dropRead(pfn);
      this.errors.set(entry, e instanceof Error ? e.message : String(e));
    }).finally(() => this.reads.delete(entry));
    this.reads.set(entry, done);
    return { wait: done };
  }

  /** Slots whose read failed: the next fault on one gets SIGBUS. */
  readonly errors = new Map<number, string>();

  /** A page whose read failed leaves the swap cache and is freed; its slot keeps its PTE references. */
  private dropRead(pfn: number): void {
    this.frames.clear(pfn, PG_LOCKED);
    if (this.cacheDelete(pfn) === 0) this.rmap.freeAnon(pfn);
  }

  /**
   * read_swap_cache_async for MADV_WILLNEED: start reading `entry` into the swap cache (a slot that
   * is cached already, free, or whose page cannot be had is left alone). Nothing waits for it.
   */
  prefetch(entry: number): void {
    if (this.swap.cache.has(entry)) return;
    const a = this.swap.area(entry);
    const off = swpOffset(entry);
    if (a.count(off) === 0) return;
    this.readOne(a, off, entry, false);
  }

  /**
   * do_swap_page's page: the swap-cache page of the swap PTE (lo, hi), reading it (and its
   * readahead window) when it is not cached. @returns the page and whether it was read (a major
   * fault), a wait, an error, or null when no frame is left
   */
  swapIn(lo: number, hi: number): { pfn: number; major: boolean } | { wait: Promise<void> } | { error: string } | null {
    const entry = pteSwapEntry(lo, hi);
    const failed = this.errors.get(entry);
    if (failed !== undefined) { this.errors.delete(entry); return { error: failed }; }
    const have = this.swap.cache.get(entry);
    if (have !== undefined) {
      const p = this.pending(have);
      if (p !== undefined) return p;
      if (this.frames.test(have, PG_READAHEAD)) { this.frames.clear(have, PG_READAHEAD); this.stat.swap_ra_hit++; this.raHits++; }
      return { pfn: have, major: false };
    }
    const r = this.readahead(entry);
    if (r === null || "wait" in r || "error" in r) return r;
    return { pfn: r.pfn, major: r.read };
  }

  /**
   * Map swap-cache page `pfn` at `va` in place of its swap PTE (the rest of do_swap_page): the PTE's
   * reference on the slot is dropped; an exclusive page in a writable VMA is mapped writable (and
   * dirty on a write fault); a write fault frees the swap copy (should_try_to_free_swap), a read
   * fault keeps page and slot tied, so a clean page needs no second write.
   */
  mapIn(mm: Mm, vma: Vma, va: number, word: number, pfn: number, lo: number, low: number, high: number, write: boolean, unuse = false): void {
    const f = this.frames;
    if (unuse) {
      // unuse_pte (swapoff): the VMA's protection, old, never made writable here.
      const entry = f.swapEntry(pfn);
      this.swap.area(entry).put(swpOffset(entry));
      mm.swapEnts--;
      this.rmap.add(pfn, mm, va);
      f.setMapping(pfn, vma.anonVma?.id ?? 0);
      mm.pt.setPte(word, va, pteLo(pfn, low & ~PTE_ACCESSED), pteHi(pfn, high), "swap");
      mm.rssAnon++;
      mm.updateHiwaterRss();
      return;
    }
    const entry = f.swapEntry(pfn);
    this.swap.area(entry).put(swpOffset(entry)); // swap_free: this PTE's reference on the slot
    mm.swapEnts--;
    // should_try_to_free_swap: swap more than half full, a locked VMA, or a write fault where the
    // swap cache holds the only reference give the slot up (folio_free_swap, if no PTE holds it).
    if (this.swapFull() || (vma.flags & VM_LOCKED) !== 0 || (write && f.refcount(pfn) === 1)) this.freeSwap(pfn);
    // The page is certainly not shared when the entry was exclusive, or when nothing else holds
    // the page now: it is mapped writable in a writable VMA, dirty on a write fault.
    const exclusive = (lo & PTE_SWP_EXCLUSIVE) !== 0 || f.refcount(pfn) === 0;
    let flags = low;
    if (exclusive && (vma.flags & VM_WRITE) !== 0) {
      flags |= PTE_RW;
      if (write) flags |= PTE_DIRTY;
    }
    this.rmap.add(pfn, mm, va);
    f.setMapping(pfn, vma.anonVma?.id ?? 0);
    mm.pt.setPte(word, va, pteLo(pfn, flags), pteHi(pfn, high), "swap");
    mm.rssAnon++;
    mm.updateHiwaterRss();
    if ((flags & PTE_DIRTY) !== 0) f.set(pfn, PG_DIRTY);
  }

  /** vm_swap_full: more than half the swap space is in use. */
  swapFull(): boolean {
    return this.swap.freePages * 2 < this.swap.totalPages;
  }

  /**
   * folio_free_swap: a swap-cache page whose slot no PTE holds any more leaves the swap cache (its
   * slot freed); not while its write is in flight. The page keeps its other references (it is not
   * freed here). @returns true when it left the swap cache
   */
  freeSwap(pfn: number): boolean {
    const f = this.frames;
    if (!f.test(pfn, PG_SWAPCACHE) || f.test(pfn, PG_WRITEBACK)) return false;
    const entry = f.swapEntry(pfn);
    if (this.swap.area(entry).count(swpOffset(entry)) !== 0 || this.reads.has(entry)) return false;
    this.cacheDelete(pfn);
    f.set(pfn, PG_DIRTY); // the only copy now: a later swap-out must write it
    return true;
  }

  /**
   * free_swap_cache (the zap path's free_pages_and_swap_cache): a page no PTE maps any more that is
   * still in the swap cache for a slot nobody holds leaves it, and is freed if that was its last
   * reference. @returns true when the frame was freed
   */
  freeSwapCache(pfn: number): boolean {
    const f = this.frames;
    if (!f.test(pfn, PG_SWAPCACHE) || f.mapcount(pfn) !== 0 || !this.freeSwap(pfn)) return false;
    if (f.refcount(pfn) !== 0) return false;
    this.rmap.freeAnon(pfn);
    return true;
  }

  /**
   * free_swap_and_cache: a PTE holding `entry` is gone (zap, exit). Its reference on the slot is
   * dropped; a swap-cache page no PTE maps any more, for a slot nobody else holds, is freed.
   */
  freeEntry(entry: number): void {
    if (swpType(entry) >= MAX_SWAPFILES) return; // a PTE marker holds no slot
    const a = this.swap.area(entry);
    const off = swpOffset(entry);
    a.put(off);
    if (a.count(off) !== 0) return;
    this.shadows.delete(entry);
    const pfn = this.swap.cache.get(entry);
    if (pfn === undefined || this.frames.mapcount(pfn) !== 0 || this.reads.has(entry)) return;
    if (this.frames.test(pfn, PG_WRITEBACK)) return; // freed when reclaim meets it again
    if (this.cacheDelete(pfn) === 0) this.rmap.freeAnon(pfn);
  }

  /** swap_duplicate for a PTE copied with its swap entry (fork). */
  dupEntry(lo: number, hi: number): void {
    const entry = pteSwapEntry(lo, hi);
    if (swpType(entry) >= MAX_SWAPFILES) return; // copy_pte_marker: the marker is copied, no slot
    this.swap.area(entry).dup(swpOffset(entry));
  }

  /** The swap type of an entry. */
  typeOf(entry: number): number {
    return swpType(entry);
  }
}

/** The "major:minor:sector" end_swap_bio_* print: the area's device and the slot's first 512-byte sector. */
function deviceOf(a: SwapArea, off: number): string {
  return `${a.dev[0]}:${a.dev[1]}:${off * 8}`;
}

function isZero(b: Uint8Array): boolean {
  const w = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}
