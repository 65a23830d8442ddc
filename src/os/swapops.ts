/**
 * Moving anonymous pages to and from swap: add_to_swap and swap_writeout for reclaim
 * (mm/swap_state.c, mm/page_io.c), do_swap_page with its readahead for the fault path
 * (mm/memory.c; which slots are read ahead is swapra.ts), free_swap_and_cache when a PTE holding a
 * swap entry goes, and try_to_unuse for swapoff (mm/swapfile.c).
 *
 * Owns: nothing but the readahead state it keeps (swapra.ts); works on the swap areas and cache
 * (swap.ts), the frame table, the reverse map and the LRU lists (through the SwapLru hooks).
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
import { NO_MEMCG, type MemcgCharge } from "./context.js";
import { type SwapSpace, type SwapArea, swpType, swpOffset, PAGE_SIZE, MAX_SWAPFILES, SWAP_HAS_CACHE } from "./swap.js";

import { PTE_RW, PTE_DIRTY, PTE_ACCESSED, PTE_SWP_EXCLUSIVE, pteLo, pteHi, swapPteType } from "../machine/pgtable.js";
import { pteSwapEntry } from "./swapentry.js";
import { SwapReadahead } from "./swapra.js";
export { pteSwapEntry, pteHoldsSwap } from "./swapentry.js";
export { swapinNrPages } from "./swapra.js";

const PG_SWAPCACHE = pageFlag("swapcache");
const PG_ANON = pageFlag("anon");
const PG_SWAPBACKED = pageFlag("swapbacked");
const PG_DIRTY = pageFlag("dirty");
const PG_UPTODATE = pageFlag("uptodate");
const PG_LOCKED = pageFlag("locked");
const PG_WRITEBACK = pageFlag("writeback");
const PG_READAHEAD = pageFlag("readahead");
const PG_RECLAIM = pageFlag("reclaim");
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
/** Writes a fault throttled behind writeback waits for (SWAP_CLUSTER_MAX). */
const WRITEBACK_BATCH = 32;

/** What swapping needs of the LRU code. */
export interface SwapLru {
  /** A page read back from swap goes on an LRU list (after the workingset check on `shadow`). */
  added(pfn: number, shadow: Shadow | undefined): void;
  /** A write finished: the page goes to the tail of the inactive list for quick reclaim (folio_rotate_reclaimable). */
  rotate(pfn: number): void;
}

/** The outcome of writing a swap-cache page out (pageout). */
export type WriteResult = "clean" | "pending" | "error";


export class SwapOps {
  /** vm.page-cluster: swap-in reads 2^pageCluster pages around the one faulted (default 3: 8 pages). */
  pageCluster = 3;
  lru: SwapLru = { added: () => {}, rotate: () => {} };
  /** The memory controller: swap-in pages are charged, slots charged to the swap counter (v2) or take over the memory+swap charge (v1). */
  memcg: MemcgCharge = NO_MEMCG;
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
    this.ra = new SwapReadahead(swap);
  }

  /** The swap-cache page of `entry`, or undefined. */
  lookup(entry: number): number | undefined {
    return this.swap.cache.get(entry);
  }

  /**
   * folio_alloc_swap + add_to_swap_cache: give anonymous page `pfn` a slot and put it in the swap
   * cache (one more reference: the cache's), dirty so that reclaim writes it. @returns false when swap is full
   * or the page's memory group may not use more swap
   */
  addToSwap(pfn: number): boolean {
    const entry = this.swap.allocSlot();
    // folio_alloc_swap → mem_cgroup_try_charge_swap: a group at its memory.swap.max gives the slot back.
    if (!this.memcg.chargeSwap(pfn, entry)) {
      if (entry !== null) this.swap.area(entry).uncache(swpOffset(entry));
      return false;
    }
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
    const off = swpOffset(entry);
    a.uncache(off);
    if (shadow !== undefined && a.count(off) > 0) {
      // The shadow entry takes the page's place in the swap cache (workingset_eviction's xa_value).
      a.shadowAge[off] = shadow.age;
      a.shadowTag[off] = ((shadow.lruvec << 1) | (shadow.workingset ? 1 : 0)) + 1;
    }
    return f.put(pfn);
  }

  /**
   * __remove_mapping of a clean swap-cache page reclaim frees: mem_cgroup_swapout (its memory
   * group's charge moves to the slot, cgroup v1), then delete_from_swap_cache. @returns the
   * references left on the page
   */
  removeMapping(pfn: number, shadow?: Shadow): number {
    this.memcg.swapout(pfn, this.frames.swapEntry(pfn));
    return this.cacheDelete(pfn, shadow);
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
    const core = this.machine._core.exports;
    const bytes = this.machine.phys.frame(pfn) ?? ZERO_PAGE;
    f.clear(pfn, PG_DIRTY);
    const backend = a.backend;
    const host = a.hostMemory;
    if (host !== null) {
      // Host memory: the copy goes first and the zero test follows on lines the copy has just
      // brought into the host's cache — tested first, its two reads of a cold page were the
      // swap-out's costliest misses after the copy itself. A zero page's copy is dropped again,
      // so what is stored and counted is what is_folio_zero_filled-then-write gives.
      host.write(off, bytes);
      const zero = core.physFrameZero(pfn) !== 0;
      if (this.events.on.swap) this.events.emit({ type: "swap", op: "out", pfn, area: a.type, offset: off, zero });
      if (zero) {
        host.discard(off);
        a.zero[off] = 1;
        this.stat.swpout_zero++;
        return "clean";
      }
      a.zero[off] = 0;
      this.stat.pswpout++;
      this.stat.pgpgout += PAGE_SIZE / 1024;
      return "clean";
    }
    const zero = core.physFrameZero(pfn) !== 0;
    if (this.events.on.swap) this.events.emit({ type: "swap", op: "out", pfn, area: a.type, offset: off, zero });
    if (zero) {
      a.zero[off] = 1;
      this.stat.swpout_zero++;
      return "clean";
    }
    a.zero[off] = 0;
    if (backend.trusted !== true) a.sums[off] = core.physFrameHash(pfn) >>> 0;
    this.stat.pswpout++;
    this.stat.pgpgout += PAGE_SIZE / 1024;
    let r: void | Promise<void>;
    try {
      r = backend.write(off, bytes);
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
    }).finally(() => { a.writing.delete(off); this.writeEnded(); });
    a.writing.set(off, done);
    return "pending";
  }

  /** A failed write: the page stays resident and dirty (end_swap_bio_write → folio_mark_dirty), and the kernel says so. */
  private writeFailed(pfn: number, a: SwapArea, off: number, e: unknown): WriteResult {
    this.frames.set(pfn, PG_DIRTY);
    this.frames.clear(pfn, PG_RECLAIM); // end_swap_bio_write: the page is no longer on its way out
    a.sums[off] = 0;
    this.log.printkRatelimited("__end_swap_bio_write", KERN_ALERT, `Write-error on swap-device (${deviceOf(a, off)})${e instanceof Error ? `: ${e.message}` : ""}`);
    return "error";
  }

  /**
   * swap_read_folio for slot `off` of `a` into frame `pfn`: zero-map slots read as zeros with no
   * I/O (swpin_zero), others from the backend (pswpin), checked against their checksum.
   * @returns undefined when the bytes are in, a promise for a backend that reads later, or an error
   */
  private readIn(a: SwapArea, off: number, pfn: number): undefined | Promise<void> | { error: string } {
    const host = a.hostMemory;
    if (host !== null && a.zero[off] === 0) {
      // Host memory: read synchronously, never fails, not checksummed (trusted) — straight from
      // the store's slot into the frame.
      if (this.events.on.swap) this.events.emit({ type: "swap", op: "in", pfn, area: a.type, offset: off, zero: false });
      this.stat.pswpin++;
      this.stat.pgpgin += PAGE_SIZE / 1024;
      this.machine.phys._fillFrame(pfn, host.slot(off));
      return undefined;
    }
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
    let r: void | Promise<void>;
    try {
      r = a.backend.read(off, into);
    } catch (e) {
      return { error: `Read-error on swap-device (${deviceOf(a, off)})${e instanceof Error ? `: ${e.message}` : ""}` };
    }
    if (r === undefined) return this.checkRead(a, off, pfn, bytes !== null);
    return r.then(() => {
      const bad = this.checkRead(a, off, pfn, bytes !== null);
      if (bad !== undefined) throw new Error(bad.error);
    }, (e: unknown) => {
      throw new Error(`Read-error on swap-device (${deviceOf(a, off)})${e instanceof Error ? `: ${e.message}` : ""}`, { cause: e });
    });
  }

  /** The bytes read into frame `pfn` (`backed`: it has bytes) from slot `off` of `a` against their checksum (a trusted backend's are not checked). */
  private checkRead(a: SwapArea, off: number, pfn: number, backed: boolean): { error: string } | undefined {
    if (!backed || a.backend.trusted === true || (this.machine._core.exports.physFrameHash(pfn) >>> 0) === a.sums[off]) return undefined;
    return { error: `Read-error on swap-device (${deviceOf(a, off)}): the bytes read back from ${a.path} do not match what was written` };
  }

  /**
   * A swap-cache lookup found the page (swap_cache_get_folio): a page that was read ahead counts a
   * readahead hit (swap_ra_hit) that widens the next window.
   */
  private cacheHit(pfn: number, vma: Vma | null, va: number): void {
    const f = this.frames;
    const readahead = f.test(pfn, PG_READAHEAD);
    if (readahead) { f.clear(pfn, PG_READAHEAD); this.stat.swap_ra_hit++; }
    this.ra.hit(vma, va, readahead);
  }

  /** Swap-in readahead: the windows and their state (swapra.ts). */
  private readonly ra: SwapReadahead;

  /** /sys/kernel/mm/swap/vma_ra_enabled. */
  get vmaRaEnabled(): boolean {
    return this.ra.vmaRaEnabled;
  }

  set vmaRaEnabled(on: boolean) {
    this.ra.vmaRaEnabled = on;
  }

  /** A read in flight for a cached page, as a wait. */
  private pending(pfn: number): { wait: Promise<void> } | undefined {
    if (this.reads.size === 0) return undefined; // (asked on every swap-cache hit)
    const entry = this.frames.swapEntry(pfn);
    const p = this.reads.get(entry);
    return p === undefined ? undefined : { wait: p };
  }

  private readonly reads = new Map<number, Promise<void>>();

  /** A read of `entry`'s slot is in flight (no lookup while none is: asked on every write fault's folio_free_swap). */
  private reading(entry: number): boolean {
    return this.reads.size !== 0 && this.reads.has(entry);
  }

  /**
   * __read_swap_cache_async for one slot: a frame, into the swap cache, locked while read.
   * @returns the frame, read (`readIo`: whether the device was read), a wait, an error, or null when no frame is left
   */
  private readOne(a: SwapArea, off: number, entry: number, ahead: boolean): number | { wait: Promise<void> } | { error: string } | null {
    const pfn = this.alloc.anonPageForRead(PG_ANON | PG_SWAPBACKED);
    if (pfn === null) return null;
    // mem_cgroup_swapin_charge_folio: to the group the slot was charged to, else current's.
    if (!this.memcg.charge(pfn, 1, "swapin", entry)) { this.machine.frames.freePage(pfn); return null; }
    const f = this.frames;
    a.map[off] |= SWAP_HAS_CACHE;
    const io = a.zero[off] === 0; // a zero-map slot is read without touching the device
    this.cacheInsert(pfn, entry);
    if (ahead) { f.set(pfn, PG_READAHEAD); this.stat.swap_ra++; }
    // The shadow goes to the LRU code at once for a read that is done (a reused record), or is
    // kept with a read that finishes later.
    const tag = a.shadowTag[off];
    a.shadowTag[off] = 0;
    const r = this.readIn(a, off, pfn);
    if (r === undefined) {
      f.set(pfn, PG_UPTODATE);
      this.lru.added(pfn, tag === 0 ? undefined : shadowOf(a.shadowAge[off], tag, this.shadowIn));
      this.readIo = io;
      return pfn;
    }
    const shadow = tag === 0 ? undefined : shadowOf(a.shadowAge[off], tag, { age: 0, lruvec: 0, workingset: false });
    if ("error" in r) {
      this.log.printkRatelimited("__end_swap_bio_read", KERN_ALERT, r.error);
      this.dropRead(pfn);
      return ahead ? null : r;
    }
    f.set(pfn, PG_LOCKED);
    const done = r.then(() => {
      f.clear(pfn, PG_LOCKED);
      f.set(pfn, PG_UPTODATE);
      this.lru.added(pfn, shadow);
    }, (e: unknown) => {
      this.log.printkRatelimited("__end_swap_bio_read", KERN_ALERT, e instanceof Error ? e.message : String(e));
      this.dropRead(pfn);
      // Remembered for the next fault on the slot — unless no PTE holds it any more (its task
      // exited while the read was in flight): then the slot is free, and its next page is new.
      if (a.count(off) > 0) this.errors.set(entry, e instanceof Error ? e.message : String(e));
    }).finally(() => this.reads.delete(entry));
    this.reads.set(entry, done);
    return { wait: done };
  }

  /** The shadow record readOne hands the LRU code for a read that is done (consumed at once). */
  private readonly shadowIn = { age: 0, lruvec: 0, workingset: false };

  /** Whether readOne's last synchronous read touched the device (false for a zero-map slot). */
  private readIo = false;

  /** swapIn's answer when the page is in: one record, reused by the next call (read it before). */
  private readonly got = { pfn: 0, major: false, io: false };

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
   * do_swap_page's page: the swap-cache page of the swap PTE (lo, hi) faulted at `va` of `vma` in
   * `mm`, read with its readahead window when it is not cached. @returns the page and whether it
   * was read (a major fault) — a record the next call reuses (no allocation per fault) — a wait,
   * an error, or null when no frame is left
   */
  swapIn(lo: number, hi: number, mm: Mm | null = null, vma: Vma | null = null, va = 0): { pfn: number; major: boolean; io: boolean } | { wait: Promise<void> } | { error: string } | null {
    const entry = pteSwapEntry(lo, hi);
    const failed = this.errors.size === 0 ? undefined : this.errors.get(entry);
    if (failed !== undefined) { this.errors.delete(entry); return { error: failed }; }
    const have = this.swap.cache.get(entry);
    if (have !== undefined) {
      const p = this.pending(have);
      if (p !== undefined) return p;
      this.cacheHit(have, vma, va);
      return this.answer(have, false, false);
    }
    const a = this.swap.area(entry);
    const off = swpOffset(entry);
    // The target first: when memory is short, readahead is what goes without.
    const target = this.readOne(a, off, entry, false);
    if (typeof target !== "number") {
      if (target !== null && "wait" in target) this.readAhead(this.ra.window(entry, mm, vma, va, this.pageCluster));
      return target;
    }
    const io = this.readIo;
    this.readAhead(this.ra.window(entry, mm, vma, va, this.pageCluster));
    return this.answer(target, true, io);
  }

  private answer(pfn: number, major: boolean, io: boolean): { pfn: number; major: boolean; io: boolean } {
    const g = this.got;
    g.pfn = pfn;
    g.major = major;
    g.io = io;
    return g;
  }

  /** Start reading `entries` into the swap cache (PG_readahead, swap_ra), skipping cached and free slots; stops when memory runs short. */
  private readAhead(entries: readonly number[]): void {
    for (const e of entries) {
      if (this.swap.cache.has(e)) continue;
      const a = this.swap.areas[swpType(e)];
      if (a === null || a === undefined || a.count(swpOffset(e)) === 0) continue;
      if (this.readOne(a, swpOffset(e), e, true) === null) break;
    }
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
    if (this.swap.area(entry).count(swpOffset(entry)) !== 0 || this.reading(entry)) return false;
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
    a.shadowTag[off] = 0;
    // A read error belongs to the slot's old contents: the next page stored there reads afresh
    // (the kernel's failed folio leaves the swap cache with the slot).
    this.errors.delete(entry);
    const pfn = this.swap.cache.get(entry);
    if (pfn === undefined || this.frames.mapcount(pfn) !== 0 || this.reading(entry)) return;
    if (this.frames.test(pfn, PG_WRITEBACK)) return; // freed when reclaim meets it again
    if (this.cacheDelete(pfn) === 0) this.rmap.freeAnon(pfn);
  }

  /** swap_duplicate for a PTE copied with its swap entry (fork). */
  dupEntry(lo: number, hi: number): void {
    const entry = pteSwapEntry(lo, hi);
    if (swpType(entry) >= MAX_SWAPFILES) return; // copy_pte_marker: the marker is copied, no slot
    this.swap.area(entry).dup(swpOffset(entry));
  }

  /** The read latency of the swap area a swap PTE's high word `hi` names, or undefined when it has no latency model. */
  readUsec(hi: number): number | undefined {
    const a = this.swap.areas[swapPteType(hi)];
    return a?.latency?.readUsec;
  }

  /**
   * reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK): an allocation that reclaim could not satisfy
   * while swap writes are in flight waits for a batch of them to end (their pages are then at the
   * inactive tail, reclaimable) instead of going out of memory. @returns that wait and the
   * device's write time (the area's writeUsec, undefined without a latency model), or null when
   * no write is in flight
   */
  writebackWait(): { until: Promise<void>; ioUsec: number | undefined } | null {
    let inFlight = 0;
    let ioUsec: number | undefined;
    for (const a of this.swap.areas) {
      if (a === null || a.writing.size === 0) continue;
      inFlight += a.writing.size;
      const u = a.latency?.writeUsec;
      if (u !== undefined && (ioUsec === undefined || u < ioUsec)) ioUsec = u; // the fastest device finishes first
    }
    if (inFlight === 0) return null;
    // The waiter is woken once a batch of writes has ended (acct_reclaim_writeback wakes the
    // throttled after SWAP_CLUSTER_MAX), or all of them when fewer are in flight.
    const at = this.writesEnded + Math.min(WRITEBACK_BATCH, inFlight);
    return { until: new Promise<void>((resolve) => this.writeWaiters.push({ at, resolve })), ioUsec };
  }

  /** Swap writes submitted and not finished, over every area. */
  get writesInFlight(): number {
    let n = 0;
    for (const a of this.swap.areas) if (a !== null) n += a.writing.size;
    return n;
  }

  /** Writes that have ended (done or failed), and the throttled faults waiting for a count of them. */
  private writesEnded = 0;
  private writeWaiters: { at: number; resolve: () => void }[] = [];

  private writeEnded(): void {
    this.writesEnded++;
    if (this.writeWaiters.length === 0) return;
    const still: { at: number; resolve: () => void }[] = [];
    for (const w of this.writeWaiters) if (w.at <= this.writesEnded) w.resolve(); else still.push(w);
    this.writeWaiters = still;
  }

  /** The swap type of an entry. */
  typeOf(entry: number): number {
    return swpType(entry);
  }
}

/** A slot's shadow entry (its age and non-zero tag, see SwapArea.shadowTag) decoded into `out`. @returns `out` */
function shadowOf(age: number, tag: number, out: { age: number; lruvec: number; workingset: boolean }): Shadow {
  out.age = age;
  out.lruvec = (tag - 1) >> 1;
  out.workingset = ((tag - 1) & 1) !== 0;
  return out;
}

/** The "major:minor:sector" end_swap_bio_* print: the area's device and the slot's first 512-byte sector. */
function deviceOf(a: SwapArea, off: number): string {
  return `${a.dev[0]}:${a.dev[1]}:${off * 8}`;
}

