/**
 * Workingset detection (mm/workingset.c): when reclaim evicts a page it leaves a shadow entry in
 * the page's place (the page cache slot of a file page, the swap-cache slot of an anonymous one)
 * recording the lruvec's nonresident age at eviction. When the page faults back in, the distance
 * between then and now tells whether it would have stayed resident had the active list been
 * smaller: if the refault distance fits in the workingset, the page is activated at once
 * (workingset_activate_*) instead of starting over on the inactive list; a page that was part of
 * the workingset when evicted is restored as such (workingset_restore_*).
 *
 * Owns: the shadow format. The ages live in each LruVec; the counters in the vmstat registry.
 */
import type { FrameTable } from "../machine/frametable.js";
import { pageFlag } from "../machine/frames.js";
import { type LruVec, LRU_ACTIVE_FILE, LRU_INACTIVE_FILE, LRU_ACTIVE_ANON, LRU_INACTIVE_ANON } from "./lru.js";
import type { VmEvents } from "./vmstat.js";

/** What an evicted page leaves behind. */
export interface Shadow {
  /** The lruvec's nonresident age when the page was evicted. */
  readonly age: number;
  readonly lruvec: number;
  /** PG_workingset was set: the page had been active. */
  readonly workingset: boolean;
}

const PG_WORKINGSET = pageFlag("workingset");
const PG_ACTIVE = pageFlag("active");

/** workingset_eviction: the shadow of `pfn`, and one tick of the lruvec's age. */
export function workingsetEviction(lruvec: LruVec, frames: FrameTable, pfn: number): Shadow {
  return workingsetEvictionInto(lruvec, frames, pfn, { age: 0, lruvec: 0, workingset: false });
}

/**
 * workingset_eviction into `out` (a record the caller reuses: reclaim's swap-cache path, which
 * copies the shadow into the slot's arrays at once, evicts without allocating). @returns `out`
 */
export function workingsetEvictionInto(lruvec: LruVec, frames: FrameTable, pfn: number, out: { age: number; lruvec: number; workingset: boolean }): Shadow {
  out.age = lruvec.nonresidentAge;
  lruvec.nonresidentAge += 1 << frames.order(pfn);
  out.lruvec = lruvec.id;
  out.workingset = frames.test(pfn, PG_WORKINGSET);
  return out;
}

/** workingset_age_nonresident on activation: activations age the nonresident clock too. */
export function workingsetActivation(lruvec: LruVec, pages: number): void {
  lruvec.nonresidentAge += pages;
}

/**
 * workingset_refault for a page `pfn` being read back (before it goes on an LRU list): count the
 * refault; if its distance is within the workingset, make it active and count the activation; if
 * it was part of the workingset, mark it so and count the restore. `swapAvailable`: anon pages can
 * be reclaimed (swap has room), so the anon lists count towards the workingset. `activate` false
 * (a replacement policy without active lists): only the refault is counted.
 */
export function workingsetRefault(lruvec: LruVec, frames: FrameTable, stat: VmEvents, pfn: number, shadow: Shadow, file: boolean, swapAvailable: boolean, activate = true): void {
  const pages = 1 << frames.order(pfn);
  if (file) { stat.workingset_refault_file += pages; lruvec.events.workingset_refault_file += pages; } else { stat.workingset_refault_anon += pages; lruvec.events.workingset_refault_anon += pages; }
  lruvec.cost[file ? 1 : 0] += pages; // lru_note_cost_refault
  if (!activate) return;
  const distance = lruvec.nonresidentAge - shadow.age;
  // workingset_test_recent: the active file list, for anon refaults the inactive file list too;
  // the anon lists as well when swap can take anon pages (for file refaults both anon lists).
  let size = lruvec.size[LRU_ACTIVE_FILE];
  if (!file) size += lruvec.size[LRU_INACTIVE_FILE];
  if (swapAvailable) {
    size += lruvec.size[LRU_ACTIVE_ANON];
    if (file) size += lruvec.size[LRU_INACTIVE_ANON];
  }
  if (distance > size) return;
  frames.set(pfn, PG_ACTIVE);
  workingsetActivation(lruvec, pages);
  if (file) stat.workingset_activate_file += pages; else stat.workingset_activate_anon += pages;
  if (shadow.workingset) {
    frames.set(pfn, PG_WORKINGSET);
    if (file) stat.workingset_restore_file += pages; else stat.workingset_restore_anon += pages;
  }
}
