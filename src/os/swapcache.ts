/**
 * Per-slot indexes keyed by swap entry, kept as Linux keeps them: one array per swap area, indexed
 * by slot — the swap cache (swapper_spaces, mm/swap_state.c: entry → the frame holding the slot's
 * page) and swap_cgroup (mm/swap_cgroup.c: entry → the memory group its record is charged to).
 * A lookup, an insertion or a deletion on the swap-in and reclaim paths allocates nothing (a Map
 * of every entry did, and rehashed as reclaim filled and emptied it).
 *
 * Owns: nothing but the counts; the per-slot words live on the areas (SwapArea.cachePfn,
 * SwapArea.memcgId), so an area's index goes with it at swapoff.
 */
import { WasmmuError } from "../errors.js";
import { swpEntry, swpType, swpOffset } from "./swapentry.js";

/** What an index needs of an area: its type and its per-slot words (value + 1; 0: no entry). */
export interface SlotArea {
  readonly type: number;
  readonly cachePfn: Int32Array;
  readonly memcgId: Int32Array;
}

/** An index entry → non-negative integer over every area, with Map's API (iteration in area then slot order). */
export class SlotIndex implements Iterable<[number, number]> {
  private readonly areas: readonly (SlotArea | null)[];
  /** Which word: the swap cache's (cachePfn), else swap_cgroup's (memcgId). */
  private readonly cacheWord: boolean;
  private count = 0;

  /**
   * @param areas swap_info[], indexed by type (read live: areas come and go)
   * @param word the per-slot array of each area this index keeps
   */
  constructor(areas: readonly (SlotArea | null)[], word: "cachePfn" | "memcgId") {
    this.areas = areas;
    this.cacheWord = word === "cachePfn";
  }

  /**
   * The area's array this index keeps. Two named loads, not `a[word]`: a keyed load by a string
   * goes megamorphic in V8, and this runs several times per page swapped out and in.
   */
  private words(a: SlotArea): Int32Array {
    return this.cacheWord ? a.cachePfn : a.memcgId;
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** The value of `entry`, or undefined (also for an entry of no area). */
  get(entry: number): number | undefined {
    const a = this.areas[swpType(entry)];
    if (a === null || a === undefined) return undefined;
    const v = this.words(a)[swpOffset(entry)];
    return v === 0 ? undefined : v - 1;
  }

  has(entry: number): boolean {
    return this.get(entry) !== undefined;
  }

  /** Set `entry`'s value (0 ≤ value < 2^31 - 1; the entry's area must exist). */
  set(entry: number, value: number): this {
    const a = this.areas[swpType(entry)];
    if (a === null || a === undefined) throw new WasmmuError("BAD_FREE", `swap entry ${swpType(entry)}:${swpOffset(entry)} names no swap area`);
    const w = this.words(a);
    const off = swpOffset(entry);
    if (w[off] === 0) this.count++;
    w[off] = value + 1;
    return this;
  }

  /** @returns true when `entry` had a value */
  delete(entry: number): boolean {
    const a = this.areas[swpType(entry)];
    if (a === null || a === undefined) return false;
    const w = this.words(a);
    const off = swpOffset(entry);
    if (w[off] === 0) return false;
    w[off] = 0;
    this.count--;
    return true;
  }

  /** [entry, value] of every slot with a value, by area type then slot. */
  *entries(): IterableIterator<[number, number]> {
    for (const a of this.areas) {
      if (a === null || a === undefined) continue;
      const w = this.words(a);
      for (let off = 1; off < w.length; off++) if (w[off] !== 0) yield [swpEntry(a.type, off), w[off] - 1];
    }
  }

  /** The values, in entries() order. */
  *values(): IterableIterator<number> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }
}

/** The swap cache: entry → pfn of the page caching the slot (total_swapcache_pages is its size). */
export class SwapCache extends SlotIndex {
  constructor(areas: readonly (SlotArea | null)[]) {
    super(areas, "cachePfn");
  }
}
