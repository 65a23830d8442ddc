// The buddy allocator: free lists of 2^order-frame blocks per zone, split on allocation, merged
// with the buddy on free. Follows Linux mm/page_alloc.c (__rmqueue_smallest, expand,
// __free_one_page, __zone_watermark_ok, __setup_per_zone_wmarks, setup_per_zone_lowmem_reserve,
// calculate_min_free_kbytes).
//
// Owns: the zone records (layout below) and the free lists threaded through frame descriptors.
// Does not own policy: an allocation that cannot be met returns ALLOC_FAIL and the host decides
// (reclaim, OOM). Every frame starts PG_reserved; the host hands frames to the allocator with
// buddyRelease() (Linux: memblock_free_all), which is how boot-time reservations are kept.
//
//   Zone record, ZONE_SIZE = 160 bytes, at zoneBase + zone * 160:
//   +0  startPfn u32   +4  endPfn u32 (exclusive; clipped to managed frames)
//   +8  present u32    +12 managed u32 (released to the allocator)   +16 freePages u32
//   +20 wmarkMin u32   +24 wmarkLow u32   +28 wmarkHigh u32   +32 wmarkPromo u32
//   +36 lowmemReserve[NR_ZONES] u32 (pages kept back from allocations aimed at higher zones)
//   +48 freeArea[NR_PAGE_ORDERS] { head u32 (pfn or NO_PFN), nrFree u32 }
//
// Policy notes. A freed block goes to the head of its list (Linux may put it at the tail when a
// larger merge looks likely; we do not, so allocation order is LIFO and easy to follow by hand).
// Frames of every allocation of order > 0 are marked PG_head/PG_tail, as with __GFP_COMP.

import { NR_PAGE_ORDERS, NR_ZONES, ZONE_DMA_END_PFN, ZONE_DMA32_END_PFN, WATERMARK_SCALE_FACTOR } from "../tunables";
import {
  fd, managedFrames, NO_PFN, FD_FLAGS, FD_REFCOUNT, FD_MAPCOUNT, FD_ORDER, FD_ZONE, FD_NEXT, FD_PREV,
  FD_PRIVATE, FD_MAPPING, FD_MEMCG, PG_buddy, PG_head, PG_tail, PG_reserved, PG_allocated,
} from "./frames";
import { count, countN, Counter } from "../stats/counters";

@inline export const ZONE_SIZE: usize = 160;
@inline export const Z_START: usize = 0;
@inline export const Z_END: usize = 4;
@inline export const Z_PRESENT: usize = 8;
@inline export const Z_MANAGED: usize = 12;
@inline export const Z_FREE: usize = 16;
@inline export const Z_WMARK_MIN: usize = 20;
@inline export const Z_WMARK_LOW: usize = 24;
@inline export const Z_WMARK_HIGH: usize = 28;
@inline export const Z_WMARK_PROMO: usize = 32;
@inline export const Z_LOWMEM_RESERVE: usize = 36;
@inline export const Z_FREE_AREA: usize = 48;

/** Watermark an allocation must leave above (Linux ALLOC_WMARK_*); NONE ignores watermarks. */
@inline export const WMARK_NONE: u32 = 0;
@inline export const WMARK_MIN: u32 = 1;
@inline export const WMARK_LOW: u32 = 2;
@inline export const WMARK_HIGH: u32 = 3;

/** buddyAlloc results below zero. */
@inline export const ALLOC_FAIL: i32 = -1;      // no block of that order in the allowed zones
@inline export const ALLOC_EINVAL: i32 = -2;    // order or zone out of range

/** buddyFree results (the offending pfn is in buddyErrorPfn()). */
@inline export const FREE_OK: i32 = 0;
@inline export const FREE_OUT_OF_RANGE: i32 = -1;  // pfn is not a managed frame
@inline export const FREE_BAD_ORDER: i32 = -2;     // order ≥ NR_PAGE_ORDERS
@inline export const FREE_DOUBLE: i32 = -3;        // the frame heads a free block already
@inline export const FREE_NOT_HEAD: i32 = -4;      // a tail frame of an allocated block
@inline export const FREE_NOT_ALLOCATED: i32 = -5; // inside a free block, or never allocated
@inline export const FREE_RESERVED: i32 = -6;      // reserved, never given to the allocator
@inline export const FREE_WRONG_ORDER: i32 = -7;   // allocated with another order
@inline export const FREE_STILL_MAPPED: i32 = -8;  // mapcount ≠ 0: PTEs still map it (Linux: bad page state)

export let zoneBase: usize = 0;
let errorPfn: u32 = NO_PFN;
let minFreeKb: u32 = 0;
let hostCounters: usize = 0;
/** The highest zone with present frames (buddySetup): rmqueue starts there, skipping zones that can never hold a free block. */
let topZone: u32 = 0;

@inline export function zonePtr(z: u32): usize {
  return zoneBase + <usize>z * ZONE_SIZE;
}

@inline export function zoneOfPfn(pfn: u32): u32 {
  return pfn < ZONE_DMA_END_PFN ? 0 : pfn < ZONE_DMA32_END_PFN ? 1 : 2;
}

@inline function area(z: usize, order: u32): usize {
  return z + Z_FREE_AREA + (<usize>order << 3);
}

/** Lay out empty zones over the managed frames; every frame starts reserved. */
export function buddySetup(base: usize, counters: usize): void {
  zoneBase = base;
  hostCounters = counters;
  topZone = 0;
  errorPfn = NO_PFN;
  for (let z: u32 = 0; z < NR_ZONES; z++) {
    const zp = zonePtr(z);
    memory.fill(zp, 0, ZONE_SIZE);
    const lo: u32 = z == 0 ? 0 : z == 1 ? ZONE_DMA_END_PFN : ZONE_DMA32_END_PFN;
    const hi: u32 = z == 0 ? ZONE_DMA_END_PFN : z == 1 ? ZONE_DMA32_END_PFN : 0xffff_ffff;
    const start = min(lo, managedFrames);
    const end = min(hi, managedFrames);
    store<u32>(zp + Z_START, start);
    store<u32>(zp + Z_END, end);
    store<u32>(zp + Z_PRESENT, end - start);
    for (let o: u32 = 0; o < NR_PAGE_ORDERS; o++) store<u32>(area(zp, o), NO_PFN);
    if (end > start) topZone = z;
  }
  // Every descriptor starts reserved, in its zone, unlinked, everything else 0: two 16-byte
  // stores per frame, zone by zone (a million frames for 4 GiB: a per-frame memory.fill made this
  // loop most of a machine's start-up).
  const tail = i32x4(<i32>NO_PFN, <i32>NO_PFN, 0, 0);
  for (let z: u32 = 0; z < NR_ZONES; z++) {
    const zp = zonePtr(z);
    const head = i32x4(<i32>PG_reserved, 0, 0, <i32>(z << 8));   // flags; refcount; mapcount; order u8, zone u8
    for (let pfn = load<u32>(zp + Z_START), end = load<u32>(zp + Z_END); pfn < end; pfn++) {
      const d = fd(pfn);
      v128.store(d, head);
      v128.store(d, tail, 16);
    }
  }
}

function listAdd(zp: usize, order: u32, pfn: u32): void {
  const a = area(zp, order);
  const head = load<u32>(a);
  const d = fd(pfn);
  store<u32>(d + FD_NEXT, head);
  store<u32>(d + FD_PREV, NO_PFN);
  if (head != NO_PFN) store<u32>(fd(head) + FD_PREV, pfn);
  store<u32>(a, pfn);
  store<u32>(a, load<u32>(a, 4) + 1, 4);
  store<u32>(d + FD_FLAGS, PG_buddy);
  store<u8>(d + FD_ORDER, <u8>order);
}

function listDel(zp: usize, order: u32, pfn: u32): void {
  const a = area(zp, order);
  const d = fd(pfn);
  const next = load<u32>(d + FD_NEXT);
  const prev = load<u32>(d + FD_PREV);
  if (prev != NO_PFN) store<u32>(fd(prev) + FD_NEXT, next); else store<u32>(a, next);
  if (next != NO_PFN) store<u32>(fd(next) + FD_PREV, prev);
  store<u32>(a, load<u32>(a, 4) - 1, 4);
  store<u32>(d + FD_NEXT, NO_PFN);
  store<u32>(d + FD_PREV, NO_PFN);
  store<u32>(d + FD_FLAGS, 0);
}

/** __zone_watermark_ok: would `order` pages leave the zone above `mark` plus its reserve for `classzone`? */
function watermarkOk(zp: usize, order: u32, mark: u32, classzone: u32): bool {
  const wm = mark == WMARK_MIN ? Z_WMARK_MIN : mark == WMARK_LOW ? Z_WMARK_LOW : Z_WMARK_HIGH;
  const free = <i64>load<u32>(zp + Z_FREE) - ((<i64>1 << order) - 1);
  if (free <= <i64>load<u32>(zp + wm) + <i64>load<u32>(zp + Z_LOWMEM_RESERVE + (<usize>classzone << 2))) return false;
  if (order == 0) return true;
  for (let o = order; o < NR_PAGE_ORDERS; o++) if (load<u32>(area(zp, o), 4) != 0) return true;
  return false;
}

/**
 * Allocate 2^order frames, trying zone `highestZone` first and falling back to lower zones
 * (Linux's zonelist order: Normal → DMA32 → DMA). With `wmark` ≠ WMARK_NONE a zone is used only
 * if the allocation leaves it above that watermark plus its lowmem reserve.
 * @returns the first pfn (refcount 1, PG_allocated, PG_head/PG_tail for order > 0), ALLOC_FAIL
 *          or ALLOC_EINVAL. Never traps.
 */
export function buddyAlloc(order: u32, highestZone: u32, wmark: u32): i32 {
  if (order >= NR_PAGE_ORDERS || highestZone >= NR_ZONES || wmark > WMARK_HIGH) return ALLOC_EINVAL;
  return rmqueue(order, highestZone, wmark);
}

/**
 * buddyAlloc(0, highestZone, WMARK_NONE): one frame, no watermark — the demand-fault policy's
 * allocation (replay/faultpolicy.ts), once per first touch of a page — with the order and the
 * watermark constants in its copy of rmqueue, so that its loops and tests fold away. Inline: the
 * demand fault's path (resolveNotPresent, inlined into replay/miss.ts fastAbsent) allocates without
 * a call (~15 instructions per fault); the export is the same code for the host.
 * @returns as buddyAlloc
 */
@inline export function buddyAllocPage(highestZone: u32): i32 {
  if (highestZone >= NR_ZONES) return ALLOC_EINVAL;
  return rmqueue(0, highestZone, WMARK_NONE);
}

/**
 * buddyAlloc's allocation once its arguments are checked: the first zone from `highestZone` down
 * that passes the watermark gives the head of its lowest non-empty list of order ≥ `order`, split
 * down to the block (__rmqueue_smallest, expand).
 *
 * Two invariants of the lists (buddyCheck) spare it loads, for every order: the block taken is its
 * list's head, whose prev link is NO_PFN (Linux del_page_from_free_list of the first entry); and
 * the lists from `order` up to the order found are empty — the search just passed them — so each
 * half that expand hands back becomes its list's only block (head, nrFree 1), with no old head to
 * link or count to read. Same lists, descriptors and counts as listDel + listAdd.
 */
@inline function rmqueue(order: u32, highestZone: u32, wmark: u32): i32 {
  for (let z = <i32>min(highestZone, topZone); z >= 0; z--) {
    const zp = zonePtr(<u32>z);
    if (wmark != WMARK_NONE && !watermarkOk(zp, order, wmark, highestZone)) continue;
    // A zone with fewer free frames than the block has no block of the order on any list (its
    // free count is the sum over its lists: buddyCheck): skip its lists. Machines below 4 GiB
    // have an empty Normal zone, whose eleven empty lists every allocation would otherwise scan.
    if (load<u32>(zp + Z_FREE) < (<u32>1 << order)) continue;
    for (let o = order; o < NR_PAGE_ORDERS; o++) {
      const a = area(zp, o);
      const pfn = load<u32>(a);
      if (pfn == NO_PFN) continue;
      headDel(a, pfn);
      // expand(): hand back the upper halves, keep the lower part.
      let high = o;
      while (high > order) {
        high--;
        soleAdd(area(zp, high), high, pfn + (<u32>1 << high));
      }
      if (o > order) countN(hostCounters, Counter.BUDDY_SPLIT, <u64>(o - order));
      prepAllocated(pfn, order);
      store<u32>(zp + Z_FREE, load<u32>(zp + Z_FREE) - (<u32>1 << order));
      count(hostCounters, Counter.BUDDY_ALLOC);
      return <i32>pfn;
    }
  }
  count(hostCounters, Counter.BUDDY_ALLOC_FAIL);
  return ALLOC_FAIL;
}

/**
 * listDel of `pfn`, the head of the list at `a` (its prev is NO_PFN: not read), but for the flags,
 * which prepAllocated writes next.
 */
@inline function headDel(a: usize, pfn: u32): void {
  const d = fd(pfn);
  const next = load<u32>(d + FD_NEXT);
  store<u32>(a, next);
  if (next != NO_PFN) store<u32>(fd(next) + FD_PREV, NO_PFN);
  store<u32>(a, load<u32>(a, 4) - 1, 4);
  store<u64>(d + FD_NEXT, NO_LINKS);
}

/** listAdd of `pfn` (order `order`) to the list at `a`, known empty (head NO_PFN, nrFree 0). */
@inline function soleAdd(a: usize, order: u32, pfn: u32): void {
  const d = fd(pfn);
  store<u64>(d + FD_NEXT, NO_LINKS);
  store<u64>(a, (<u64>1 << 32) | <u64>pfn);   // head pfn, nrFree 1
  store<u32>(d + FD_FLAGS, PG_buddy);
  store<u8>(d + FD_ORDER, <u8>order);
}

/** FD_NEXT and FD_PREV both NO_PFN, as one u64 (next in the low half). */
@inline const NO_LINKS: u64 = (<u64>NO_PFN << 32) | <u64>NO_PFN;

/**
 * zone_watermark_ok over the zonelist: would an allocation of 2^order frames whose highest zone
 * is `highestZone` leave some zone above `wmark` (with its lowmem reserve)? kswapd's
 * pgdat_balanced asks this of WMARK_HIGH. @returns 1 or 0
 */
export function buddyWatermarkOk(order: u32, highestZone: u32, wmark: u32): u32 {
  if (order >= NR_PAGE_ORDERS || highestZone >= NR_ZONES || wmark > WMARK_HIGH) return 0;
  for (let z = <i32>highestZone; z >= 0; z--) {
    if (watermarkOk(zonePtr(<u32>z), order, wmark, highestZone)) return 1;
  }
  return 0;
}

function prepAllocated(pfn: u32, order: u32): void {
  const d = fd(pfn);
  store<u32>(d + FD_FLAGS, PG_allocated | (order > 0 ? PG_head : 0));
  store<u32>(d + FD_REFCOUNT, 1);
  store<u32>(d + FD_MAPCOUNT, 0);
  store<u8>(d + FD_ORDER, <u8>order);
  store<u32>(d + FD_PRIVATE, 0);
  store<u32>(d + FD_MAPPING, 0);
  store<u16>(d + FD_MEMCG, 0);
  const n: u32 = 1 << order;
  for (let i: u32 = 1; i < n; i++) {
    const t = fd(pfn + i);
    store<u32>(t + FD_FLAGS, PG_tail);
    store<u32>(t + FD_REFCOUNT, 0);
    store<u32>(t + FD_MAPCOUNT, 0);
    store<u8>(t + FD_ORDER, 0);
  }
}

/**
 * split_page / split_folio: turn an allocated block of 2^order frames headed by `pfn` into 2^order
 * allocated order-0 frames, each with the head's flags (PG_head/PG_tail dropped), reference and
 * map counts, private, mapping and memory group — as when a huge page's PMD is split and each
 * subpage is mapped by its own PTE. Each frame is then freed on its own.
 * @returns FREE_OK, or FREE_NOT_ALLOCATED / FREE_OUT_OF_RANGE when `pfn` heads no allocated block
 */
export function buddySplitPage(pfn: u32): i32 {
  if (pfn >= managedFrames) return FREE_OUT_OF_RANGE;
  const d = fd(pfn);
  const flags = load<u32>(d + FD_FLAGS);
  if ((flags & PG_allocated) == 0) return FREE_NOT_ALLOCATED;
  const order = <u32>load<u8>(d + FD_ORDER);
  const keep = flags & ~(PG_head | PG_tail);
  const ref = load<u32>(d + FD_REFCOUNT), map = load<u32>(d + FD_MAPCOUNT);
  const priv = load<u32>(d + FD_PRIVATE), mapping = load<u32>(d + FD_MAPPING), memcg = load<u16>(d + FD_MEMCG);
  const n: u32 = 1 << order;
  for (let i: u32 = 0; i < n; i++) {
    const t = fd(pfn + i);
    store<u32>(t + FD_FLAGS, keep);
    store<u32>(t + FD_REFCOUNT, ref);
    store<u32>(t + FD_MAPCOUNT, map);
    store<u8>(t + FD_ORDER, 0);
    store<u32>(t + FD_PRIVATE, priv);
    store<u32>(t + FD_MAPPING, mapping);
    store<u16>(t + FD_MEMCG, memcg);
  }
  return FREE_OK;
}

@inline function refuse(code: i32, pfn: u32): i32 {
  errorPfn = pfn;
  count(hostCounters, Counter.BUDDY_FREE_ERROR);
  return code;
}

/** Put a free block on its list, merging with free buddies of equal order (__free_one_page). */
function freeOneBlock(pfn: u32, order: u32): void {
  const zone = <u32>load<u8>(fd(pfn) + FD_ZONE);
  const zp = zonePtr(zone);
  store<u32>(zp + Z_FREE, load<u32>(zp + Z_FREE) + (<u32>1 << order));
  while (order < NR_PAGE_ORDERS - 1) {
    const buddy = pfn ^ (<u32>1 << order);
    if (buddy >= managedFrames) break;
    const b = fd(buddy);
    if ((load<u32>(b + FD_FLAGS) & PG_buddy) == 0 || <u32>load<u8>(b + FD_ORDER) != order || <u32>load<u8>(b + FD_ZONE) != zone) break;
    listDel(zp, order, buddy);
    pfn &= buddy;
    order++;
    count(hostCounters, Counter.BUDDY_MERGE);
  }
  listAdd(zp, order, pfn);
}

/**
 * Free the block of 2^order frames at `pfn` that buddyAlloc returned. Misuse is detected and
 * refused without touching the lists: see FREE_* (the pfn is kept for buddyErrorPfn()).
 * All flags of the block's frames are cleared: the owner must have finished with them.
 */
export function buddyFree(pfn: u32, order: u32): i32 {
  if (pfn >= managedFrames) return refuse(FREE_OUT_OF_RANGE, pfn);
  if (order >= NR_PAGE_ORDERS) return refuse(FREE_BAD_ORDER, pfn);
  const d = fd(pfn);
  const flags = load<u32>(d + FD_FLAGS);
  if ((flags & PG_allocated) == 0) {
    if (flags & PG_buddy) return refuse(FREE_DOUBLE, pfn);
    if (flags & PG_tail) return refuse(FREE_NOT_HEAD, pfn);
    if (flags & PG_reserved) return refuse(FREE_RESERVED, pfn);
    return refuse(FREE_NOT_ALLOCATED, pfn);
  }
  if (<u32>load<u8>(d + FD_ORDER) != order) return refuse(FREE_WRONG_ORDER, pfn);
  const n: u32 = 1 << order;
  for (let i: u32 = 0; i < n; i++) {
    if (load<u32>(fd(pfn + i) + FD_MAPCOUNT) != 0) return refuse(FREE_STILL_MAPPED, pfn + i);
  }
  for (let i: u32 = 0; i < n; i++) {
    const t = fd(pfn + i);
    store<u32>(t + FD_FLAGS, 0);
    store<u32>(t + FD_REFCOUNT, 0);
    store<u32>(t + FD_PRIVATE, 0);
    store<u32>(t + FD_MAPPING, 0);
  }
  freeOneBlock(pfn, order);
  count(hostCounters, Counter.BUDDY_FREE);
  return FREE_OK;
}

/**
 * Hand reserved frames [startPfn, startPfn+count) to the allocator, in the largest aligned blocks
 * (memblock_free_all → __free_pages_core). Frames not reserved are skipped.
 * @returns frames released
 */
export function buddyRelease(startPfn: u32, n: u32): u32 {
  let released: u32 = 0;
  const end = <u64>startPfn + n > <u64>managedFrames ? managedFrames : startPfn + n;
  let pfn = startPfn;
  while (pfn < end) {
    if ((load<u32>(fd(pfn) + FD_FLAGS) & PG_reserved) == 0) { pfn++; continue; }
    // Largest order aligned at pfn whose frames are all still reserved and in range.
    let order: u32 = min<u32>(NR_PAGE_ORDERS - 1, pfn == 0 ? 31 : ctz(pfn));
    while (order > 0 && (<u64>pfn + (<u64>1 << order) > <u64>end || !allReserved(pfn, <u32>1 << order))) order--;
    const cnt: u32 = 1 << order;
    for (let i: u32 = 0; i < cnt; i++) store<u32>(fd(pfn + i) + FD_FLAGS, 0);
    const zp = zonePtr(<u32>load<u8>(fd(pfn) + FD_ZONE));
    store<u32>(zp + Z_MANAGED, load<u32>(zp + Z_MANAGED) + cnt);
    freeOneBlock(pfn, order);
    released += cnt;
    pfn += cnt;
  }
  return released;
}

function allReserved(pfn: u32, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) if ((load<u32>(fd(pfn + i) + FD_FLAGS) & PG_reserved) == 0) return false;
  return true;
}

/** Frame number that the last refused buddyFree named. */
export function buddyErrorPfn(): u32 {
  return errorPfn;
}

function intSqrt(x: u64): u64 {
  let r = <u64>Math.floor(Math.sqrt(<f64>x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/** Linux calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes × 16), clamped to 128 … 262144. */
export function defaultMinFreeKbytes(): u32 {
  let lowmemPages: u64 = 0;
  for (let z: u32 = 0; z < NR_ZONES; z++) lowmemPages += load<u32>(zonePtr(z) + Z_MANAGED);
  const kb = intSqrt(lowmemPages * 4 * 16);
  return <u32>(kb < 128 ? 128 : kb > 262144 ? 262144 : kb);
}

/**
 * Set vm.min_free_kbytes and recompute every zone's min/low/high/promo watermarks
 * (__setup_per_zone_wmarks) and lowmem reserves (setup_per_zone_lowmem_reserve, ratios 256,
 * 256, 32 for DMA, DMA32, Normal).
 */
export function setMinFreeKbytes(kb: u32): void {
  minFreeKb = kb;
  const pagesMin: u64 = <u64>kb >> 2;
  let lowmemPages: u64 = 0;
  for (let z: u32 = 0; z < NR_ZONES; z++) lowmemPages += load<u32>(zonePtr(z) + Z_MANAGED);
  for (let z: u32 = 0; z < NR_ZONES; z++) {
    const zp = zonePtr(z);
    const managed = <u64>load<u32>(zp + Z_MANAGED);
    const minP: u64 = lowmemPages == 0 ? 0 : pagesMin * managed / lowmemPages;
    const scaled: u64 = managed * WATERMARK_SCALE_FACTOR / 10000;
    const step: u64 = max(minP >> 2, scaled);
    store<u32>(zp + Z_WMARK_MIN, <u32>minP);
    store<u32>(zp + Z_WMARK_LOW, <u32>(minP + step));
    store<u32>(zp + Z_WMARK_HIGH, <u32>(minP + 2 * step));
    store<u32>(zp + Z_WMARK_PROMO, <u32>(minP + 3 * step));
    for (let j: u32 = 0; j < NR_ZONES; j++) {
      let reserve: u64 = 0;
      // A zone with no managed pages keeps no reserve (Linux: clear = !ratio || !managed).
      if (j > z && managed != 0) {
        const ratio: u64 = z == 2 ? 32 : 256;
        let upper: u64 = 0;
        for (let k = z + 1; k <= j; k++) upper += load<u32>(zonePtr(k) + Z_MANAGED);
        reserve = upper / ratio;
      }
      store<u32>(zp + Z_LOWMEM_RESERVE + (<usize>j << 2), <u32>reserve);
    }
  }
}

export function minFreeKbytes(): u32 {
  return minFreeKb;
}

/**
 * Check every invariant of the lists (for tests and debugging; O(frames)): each listed block
 * is aligned, in its zone, marked PG_buddy with its order, linked both ways; nrFree and freePages
 * match the lists; no other frame is PG_buddy. @returns 0, or the first pfn found wrong + 1.
 */
export function buddyCheck(): u32 {
  let listed: u64 = 0;
  for (let z: u32 = 0; z < NR_ZONES; z++) {
    const zp = zonePtr(z);
    let zoneFree: u64 = 0;
    for (let o: u32 = 0; o < NR_PAGE_ORDERS; o++) {
      let pfn = load<u32>(area(zp, o));
      let prev = NO_PFN;
      let n: u32 = 0;
      while (pfn != NO_PFN) {
        const d = fd(pfn);
        if (pfn >= managedFrames || (pfn & ((<u32>1 << o) - 1)) != 0 || zoneOfPfn(pfn) != z ||
          load<u32>(d + FD_FLAGS) != PG_buddy || <u32>load<u8>(d + FD_ORDER) != o || load<u32>(d + FD_PREV) != prev) return pfn + 1;
        n++;
        listed++;
        if (n > managedFrames) return pfn + 1;   // a cycle
        prev = pfn;
        pfn = load<u32>(d + FD_NEXT);
      }
      if (n != load<u32>(area(zp, o), 4)) return 0xffff_ffff;
      zoneFree += <u64>n << o;
    }
    if (zoneFree != <u64>load<u32>(zp + Z_FREE)) return 0xffff_fffe;
  }
  let heads: u64 = 0;
  for (let pfn: u32 = 0; pfn < managedFrames; pfn++) if (load<u32>(fd(pfn) + FD_FLAGS) & PG_buddy) heads++;
  return heads == listed ? 0 : 0xffff_fffd;
}
