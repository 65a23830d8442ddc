/**
 * The LRU lists of one lruvec (include/linux/mmzone.h enum lru_list, mm/swap.c): inactive and
 * active × anon and file, plus unevictable — doubly linked through the frame descriptors' link
 * words (FrameTable.next/prev, as Linux links folio->lru), so a page's list position lives with
 * its descriptor. New pages go in at the head; reclaim scans from the tail.
 *
 * Owns: the list heads and counts, the lruvec's nonresident age (workingset.c), its recent
 * reclaim costs (lru_note_cost) and its reclaim and refault event counts. Which list a page is on
 * is also told by its flags: PG_lru (on some list), PG_active, PG_unevictable, and PG_swapbacked
 * for the anon lists.
 */
import type { FrameTable } from "../machine/frametable.js";
import { NO_PFN } from "../machine/frametable.js";
import { pageFlag } from "../machine/frames.js";
import { WasmmuError } from "../errors.js";

export const LRU_INACTIVE_ANON = 0;
export const LRU_ACTIVE_ANON = 1;
export const LRU_INACTIVE_FILE = 2;
export const LRU_ACTIVE_FILE = 3;
export const LRU_UNEVICTABLE = 4;
export const NR_LRU_LISTS = 5;
export const LRU_NAMES = ["inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"] as const;

const PG_LRU = pageFlag("lru");
const PG_ACTIVE = pageFlag("active");
const PG_UNEVICTABLE = pageFlag("unevictable");
const PG_SWAPBACKED = pageFlag("swapbacked");

/** The list a page belongs on by its flags (folio_lru_list). */
export function lruListOf(frames: FrameTable, pfn: number): number {
  const f = frames.flags(pfn);
  if ((f & PG_UNEVICTABLE) !== 0) return LRU_UNEVICTABLE;
  const base = (f & PG_SWAPBACKED) !== 0 ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
  return base + ((f & PG_ACTIVE) !== 0 ? 1 : 0);
}

export class LruVec {
  /** Which lruvec (0: the node's; a memory group's id otherwise). */
  readonly id: number;
  private readonly frames: FrameTable;
  private readonly head = new Int32Array(NR_LRU_LISTS).fill(-1);
  private readonly tail = new Int32Array(NR_LRU_LISTS).fill(-1);
  /** Pages on each list (folios count their pages). */
  readonly size: Float64Array = new Float64Array(NR_LRU_LISTS);
  /** nonresident_age: evictions and activations so far (workingset_age_nonresident). */
  nonresidentAge = 0;
  /** lru_note_cost: recent cost of reclaiming anon (0) and file (1) pages, decayed. */
  readonly cost = [0, 0];
  /** Reclaim and refault events on this lruvec's pages: its memory group's memory.stat counts (memcg vm events). */
  readonly events = { pgscan_kswapd: 0, pgscan_direct: 0, pgsteal_kswapd: 0, pgsteal_direct: 0, workingset_refault_anon: 0, workingset_refault_file: 0 };

  constructor(id: number, frames: FrameTable) {
    this.id = id;
    this.frames = frames;
  }

  /** Pages of `pfn` (a huge folio counts its 512). */
  private pages(pfn: number): number {
    return 1 << this.frames.order(pfn);
  }

  /** lruvec_add_folio: put `pfn` at the head of the list its flags name (PG_lru set). */
  add(pfn: number): void {
    const f = this.frames;
    if (f.test(pfn, PG_LRU)) throw new WasmmuError("BAD_FREE", `frame ${pfn} is already on an LRU list`);
    const lru = lruListOf(f, pfn);
    const h = this.head[lru];
    f.setLinks(pfn, NO_PFN, h < 0 ? NO_PFN : h);
    if (h >= 0) f.setPrev(h, pfn); else this.tail[lru] = pfn;
    this.head[lru] = pfn;
    this.size[lru] += this.pages(pfn);
    f.set(pfn, PG_LRU);
  }

  /** lruvec_add_folio_tail: put `pfn` at the tail (the next to be scanned). */
  addTail(pfn: number): void {
    const f = this.frames;
    if (f.test(pfn, PG_LRU)) throw new WasmmuError("BAD_FREE", `frame ${pfn} is already on an LRU list`);
    const lru = lruListOf(f, pfn);
    const t = this.tail[lru];
    f.setLinks(pfn, t < 0 ? NO_PFN : t, NO_PFN);
    if (t >= 0) f.setNext(t, pfn); else this.head[lru] = pfn;
    this.tail[lru] = pfn;
    this.size[lru] += this.pages(pfn);
    f.set(pfn, PG_LRU);
  }

  /** lruvec_del_folio: take `pfn` off its list (PG_lru cleared). */
  del(pfn: number): void {
    const f = this.frames;
    if (!f.test(pfn, PG_LRU)) throw new WasmmuError("BAD_FREE", `frame ${pfn} is on no LRU list`);
    const lru = lruListOf(f, pfn);
    const prev = f.prev(pfn);
    const next = f.next(pfn);
    if (prev !== NO_PFN) f.setNext(prev, next); else this.head[lru] = next === NO_PFN ? -1 : next;
    if (next !== NO_PFN) f.setPrev(next, prev); else this.tail[lru] = prev === NO_PFN ? -1 : prev;
    f.setLinks(pfn, NO_PFN, NO_PFN);
    this.size[lru] -= this.pages(pfn);
    f.clear(pfn, PG_LRU);
  }

  /** The page at the tail of `lru` (the oldest), or -1. */
  last(lru: number): number {
    return this.tail[lru];
  }

  /** The page at the head of `lru` (the newest), or -1. */
  first(lru: number): number {
    return this.head[lru];
  }

  /** The page before `pfn` on its list (towards the head), or -1. */
  prevOf(pfn: number): number {
    const p = this.frames.prev(pfn);
    return p === NO_PFN ? -1 : p;
  }

  /** The page after `pfn` on its list (towards the tail), or -1. */
  nextOf(pfn: number): number {
    const n = this.frames.next(pfn);
    return n === NO_PFN ? -1 : n;
  }

  /** Move `pfn` to another list: off its current one, flags changed by `change`, on at the head. */
  move(pfn: number, change: () => void, toTail = false): void {
    this.del(pfn);
    change();
    if (toTail) this.addTail(pfn); else this.add(pfn);
  }

  /** Pages on the anon (or file) lists. */
  anon(): number {
    return this.size[LRU_INACTIVE_ANON] + this.size[LRU_ACTIVE_ANON];
  }

  file(): number {
    return this.size[LRU_INACTIVE_FILE] + this.size[LRU_ACTIVE_FILE];
  }

  /** Every page on `lru`, head to tail (for checks and views). */
  *pagesOn(lru: number): IterableIterator<number> {
    for (let p = this.head[lru]; p >= 0; p = this.nextOf(p)) yield p;
  }
}
