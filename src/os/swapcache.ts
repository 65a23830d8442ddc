/**
 * The swap cache's index (swapper_spaces, mm/swap_state.c): swap entry → the frame that holds
 * the slot's page. Linux keeps one address space per swap area, indexed by slot; so does this —
 * a pfn per slot in a typed array of each area, so a lookup, an insertion or a deletion on the
 * swap-in and reclaim paths allocates nothing (a Map of every cached entry did, and rehashed as
 * reclaim emptied it).
 *
 * Owns: nothing but its count; the per-slot words live on the areas (SwapArea.cachePfn).
 */
import { WasmmuError } from "../errors.js";
import { swpEntry, swpType, swpOffset } from "./swapentry.js";

/** What the index needs of an area: its type and the per-slot word (pfn + 1; 0: not cached). */
export interface SwapCacheArea {
  readonly type: number;
  readonly cachePfn: Int32Array;
}

/** The swap cache: entry → pfn over every area, with Map's reading API (get, has, size, iteration in area then slot order). */
export class SwapCache implements Iterable<[number, number]> {
  private readonly areas: readonly (SwapCacheArea | null)[];
  private count = 0;

  /** @param areas swap_info[], indexed by type (the array is read live: areas come and go) */
  constructor(areas: readonly (SwapCacheArea | null)[]) {
    this.areas = areas;
  }

  /** Pages in the swap cache (total_swapcache_pages). */
  get size(): number {
    return this.count;
  }

  /** The frame caching `entry`, or undefined (also for an entry of no area). */
  get(entry: number): number | undefined {
    const a = this.areas[swpType(entry)];
    if (a === null || a === undefined) return undefined;
    const v = a.cachePfn[swpOffset(entry)];
    return v === 0 ? undefined : v - 1;
  }

  has(entry: number): boolean {
    return this.get(entry) !== undefined;
  }

  /** `pfn` caches `entry` now (the entry's area must exist). */
  set(entry: number, pfn: number): void {
    const a = this.areas[swpType(entry)];
    if (a === null || a === undefined) throw new WasmmuError("BAD_FREE", `swap cache: entry ${swpType(entry)}:${swpOffset(entry)} names no swap area`);
    const off = swpOffset(entry);
    if (a.cachePfn[off] === 0) this.count++;
    a.cachePfn[off] = pfn + 1;
  }

  /** @returns true when `entry` was cached */
  delete(entry: number): boolean {
    const a = this.areas[swpType(entry)];
    if (a === null || a === undefined) return false;
    const off = swpOffset(entry);
    if (a.cachePfn[off] === 0) return false;
    a.cachePfn[off] = 0;
    this.count--;
    return true;
  }

  /** [entry, pfn] of every cached slot, by area type then slot. */
  *entries(): IterableIterator<[number, number]> {
    for (const a of this.areas) {
      if (a === null || a === undefined) continue;
      const w = a.cachePfn;
      for (let off = 1; off < w.length; off++) if (w[off] !== 0) yield [swpEntry(a.type, off), w[off] - 1];
    }
  }

  /** The frames of every cached slot, in entries() order. */
  *values(): IterableIterator<number> {
    for (const [, pfn] of this.entries()) yield pfn;
  }

  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }
}
