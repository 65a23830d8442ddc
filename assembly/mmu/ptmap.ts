// Page-table construction: the mechanism behind an OS's set_pte with pte_alloc on the way down.
// The host decides what to map (policy); this writes the entries, taking table frames from the
// buddy allocator (marked PG_table, zeroed; backed in tables-only mode), so a fault handler on the
// host costs one call instead of a physical read and write per level.
//
// Owns: nothing. Uses phys/ram.ts for entry reads/writes and phys/buddy.ts for table frames.

import { PAGE_PRESENT, PAGE_PSE, PTE_ADDR_FIELD, PAGE_SHIFT, PAGE_SIZE, ENTRY_SHIFT, levelIndex, physMask } from "../arch/x86/pgtable";
import { maxPhyAddr } from "../arch/x86/cpu";
import { physRead, physWrite, physPtr, physLoadEntry, physBackFrame, physUnbackFrame, tablesOnly, BACK_OK, BACK_ALREADY } from "../phys/ram";
import { buddyAlloc, buddyFree, WMARK_NONE } from "../phys/buddy";
import { fd, managedFrames, FD_FLAGS, FD_REFCOUNT, PG_table } from "../phys/frames";
import { counterBlock } from "../stats/counters";
import { numCpus } from "../arch/x86/cpu";

@inline export const PTMAP_OK: i32 = 0;
@inline export const PTMAP_NO_MEMORY: i32 = -1;      // no frame for a table
@inline export const PTMAP_LARGE_IN_WAY: i32 = -2;   // a large page above maps the address
@inline export const PTMAP_BAD_LEVEL: i32 = -3;

let tableFrames: u32 = 0;

/** Table frames ptMap has allocated and not freed (for /proc/meminfo PageTables). */
export function ptTableFrames(): u32 {
  return tableFrames;
}

/**
 * A zeroed table frame marked PG_table (backed in tables-only mode), or -1: pte_alloc_one for
 * every owner of page tables, host or core, so ptTableFrames() counts them all. `wm`: the
 * watermark the allocation must leave free (WMARK_*; 0, none, for callers without reclaim).
 */
export function ptAllocTable(wm: u32): i64 {
  const pfn = buddyAlloc(0, 2, wm);
  if (pfn < 0) return -1;
  if (tablesOnly) {
    const r = physBackFrame(<u64>pfn);
    if (r != BACK_OK && r != BACK_ALREADY) { buddyFree(<u32>pfn, 0); return -1; }
  }
  const p = physPtr(<u64>pfn << PAGE_SHIFT, 8);
  if (p != 0) memory.fill(p, 0, <usize>PAGE_SIZE);
  store<u32>(fd(<u32>pfn) + FD_FLAGS, load<u32>(fd(<u32>pfn) + FD_FLAGS) | PG_table);
  tableFrames++;
  return <i64>pfn;
}

/**
 * alloc_page for a fault handler in one call: a frame from Normal down to DMA, zeroed (or a copy
 * of frame `copyFrom` when it is ≥ 0: the COW copy; or left as it is when it is -2: a page about to
 * be overwritten, as a swap-in's is), with `flags` or-ed into its descriptor and
 * refcount 0 (the mapping that follows takes the reference). Frames without bytes (tables-only
 * mode) are neither zeroed nor copied. `wm` as ptAllocTable's. @returns the pfn, or -1 when
 * memory is exhausted (or the allocation would go below `wm`).
 */
export function ptAllocPage(copyFrom: i32, flags: u32, wm: u32): i32 {
  const pfn = buddyAlloc(0, 2, wm);
  if (pfn < 0) return -1;
  const dst = copyFrom == -2 ? <usize>0 : physPtr(<u64>pfn << PAGE_SHIFT, 8);
  if (dst != 0) {
    const src: usize = copyFrom < 0 ? <usize>0 : physPtr(<u64>copyFrom << PAGE_SHIFT, 8);
    if (src != 0) memory.copy(dst, src, <usize>PAGE_SIZE);
    else memory.fill(dst, 0, <usize>PAGE_SIZE);
  }
  const d = fd(<u32>pfn);
  store<u32>(d + FD_FLAGS, load<u32>(d + FD_FLAGS) | flags);
  store<u32>(d + FD_REFCOUNT, 0);
  return pfn;
}

/**
 * pte_free: clear PG_table, unback (tables-only) and free a frame ptAllocTable gave.
 * @returns 0, -1 if the frame is not a page table (nothing changes), or buddyFree's refusal.
 */
export function ptFreeTable(pfn: u32): i32 {
  if (pfn >= managedFrames) return -1;
  const d = fd(pfn);
  const flags = load<u32>(d + FD_FLAGS);
  if ((flags & PG_table) == 0) return -1;
  store<u32>(d + FD_FLAGS, flags & ~PG_table);
  const r = buddyFree(pfn, 0);
  if (r != 0) { store<u32>(d + FD_FLAGS, flags); return r; }
  if (tablesOnly) physUnbackFrame(<u64>pfn);
  tableFrames--;
  return 0;
}

/**
 * Write `entry` as the entry for `va` at `level` (1 = PTE … 5) under the top-level table at
 * physical address `root`, with `levels` paging levels, creating missing tables with `tableFlags`.
 * @returns PTMAP_OK, or PTMAP_* (nothing is written then; tables created on the way are kept)
 */
export function ptMap(root: u64, levels: u32, va: u64, level: u32, entry: u64, tableFlags: u64): i32 {
  if (level < 1 || level > 3 || levels < 4 || levels > 5) return PTMAP_BAD_LEVEL;
  const ctr = counterBlock(numCpus);
  const addrMask = physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  let table = root & addrMask;
  for (let l = levels; l > level; l--) {
    const epa = table + (levelIndex(va, l) << ENTRY_SHIFT);
    let e = physRead(epa, 8, ctr);
    if ((e & PAGE_PRESENT) == 0) {
      const pfn = ptAllocTable(WMARK_NONE);
      if (pfn < 0) return PTMAP_NO_MEMORY;
      e = (<u64>pfn << PAGE_SHIFT) | tableFlags;
      physWrite(epa, 8, e, ctr);
    } else if (l <= 3 && (e & PAGE_PSE) != 0) {
      return PTMAP_LARGE_IN_WAY;
    }
    table = e & addrMask;
  }
  physWrite(table + (levelIndex(va, level) << ENTRY_SHIFT), 8, entry, ctr);
  return PTMAP_OK;
}

/**
 * Physical address of the entry for `va` at `level`, or 0 when a table above is missing or a
 * large page above maps it.
 */
export function ptEntryAddress(root: u64, levels: u32, va: u64, level: u32): u64 {
  return entryAddress(root, levels, va, level, physMask(maxPhyAddr) & PTE_ADDR_FIELD, counterBlock(numCpus));
}

/**
 * ptEntryAddress's descent, inline for callers that look up many addresses (the replay loop's
 * look-ahead): `addrMask` the frame-address mask for MAXPHYADDR; physical-memory edge cases
 * are counted in `ctr`.
 */
@inline export function entryAddress(root: u64, levels: u32, va: u64, level: u32, addrMask: u64, ctr: usize): u64 {
  let table = root & addrMask;
  for (let l = levels; l > level; l--) {
    const e = physLoadEntry(table + (levelIndex(va, l) << ENTRY_SHIFT), ctr);
    if ((e & PAGE_PRESENT) == 0 || (l <= 3 && (e & PAGE_PSE) != 0)) return 0;
    table = e & addrMask;
  }
  return table + (levelIndex(va, level) << ENTRY_SHIFT);
}
