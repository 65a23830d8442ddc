// The TLB arrays' replacement clock kept below 2^32, so that a stamp is a u32 (tlbarray.ts):
// half the bytes of u64 stamps, and a 12-way victim in three i32x4 loads (issue #17).
//
// Owns: the renumbering scratch (static data) and the count of renumberings (a diagnostic).
//
// A CPU's clock (CPU_TICK) advances by one per access and is what its arrays' stamps hold; the
// nested TLB's clock (nested.ts ntlbClock) likewise for the nested TLB arrays of every CPU. Only
// the order of stamps is ever read — LRU's victim (the oldest stamp of a set), a pool's choice
// between arrays (tlb.ts poolArray: oldest or newest stamp of each array's set), 0 as "invalid" —
// so before a clock reaches 2^32 every nonzero stamp it wrote is replaced by its rank among the
// distinct stamps of the arrays it drives (1, 2, …) and the clock restarts at the highest rank:
// every later comparison gives what it would have given without the renumbering. Callers check the
// clock where it is read (tlbTranslate, each fastRun, each nested TLB use) and renumber once it is
// at or above CLOCK_LIMIT; between two checks a clock advances by far less than 2^32 - CLOCK_LIMIT.

import { D_SETS, D_WAYS_PADDED, D_STAMPS } from "./tlbarray";

/** A clock at or above this is renumbered before its next use (2^24 ticks of headroom). */
@inline export const CLOCK_LIMIT: u64 = 0xffff_ffff - 0xff_ffff;

/** The renumbering's scratch: distinct stamps of one pass, sorted. */
@inline const SCRATCH_N: u32 = 4096;
const scratch: usize = memory.data(<i32>SCRATCH_N * 4, 16);

let renumbers: u32 = 0;

/** How many times a clock was renumbered since the core started (modulo 2^32): for tests. */
export function tlbClockRenumbers(): u32 {
  return renumbers;
}

@inline const SCAN_COUNT: u32 = 0;
@inline const SCAN_COLLECT: u32 = 1;
@inline const SCAN_RANK: u32 = 2;

/**
 * Visit the cells with a stamp in (lo, hi] over the `n` arrays `descAt(0 .. n-1)`: count them
 * (SCAN_COUNT), copy their stamps to scratch (SCAN_COLLECT), or replace each by `rank` + 1 + its
 * index among the `m` sorted distinct stamps of scratch (SCAN_RANK). @returns the cells visited
 */
function scanStamps(n: u32, descAt: (k: u32) => usize, lo: u32, hi: u32, mode: u32, rank: u32, m: u32): u32 {
  let c: u32 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const d = descAt(k);
    const s = <usize>load<u32>(d + D_STAMPS);
    const cells = <usize>load<u32>(d + D_SETS) * load<u32>(d + D_WAYS_PADDED);
    for (let i: usize = 0; i < cells; i++) {
      const v = load<u32>(s + (i << 2));
      if (v <= lo || v > hi) continue;
      if (mode == SCAN_COLLECT) store<u32>(scratch + (<usize>c << 2), v);
      else if (mode == SCAN_RANK) store<u32>(s + (i << 2), rank + 1 + indexOf(v, m));
      c++;
    }
  }
  return c;
}

/** Cells with a stamp in (lo, hi] over the `n` arrays `descAt(0 .. n-1)`. */
function countIn(n: u32, descAt: (k: u32) => usize, lo: u32, hi: u32): u32 {
  return scanStamps(n, descAt, lo, hi, SCAN_COUNT, 0, 0);
}

/** Sort scratch[0, m) ascending (heap sort: no recursion, no allocation). */
function sortScratch(m: u32): void {
  for (let i = <i32>(m >> 1) - 1; i >= 0; i--) siftDown(<u32>i, m);
  for (let end = m; end > 1; end--) {
    const top = load<u32>(scratch);
    store<u32>(scratch, load<u32>(scratch + (<usize>(end - 1) << 2)));
    store<u32>(scratch + (<usize>(end - 1) << 2), top);
    siftDown(0, end - 1);
  }
}

function siftDown(i: u32, m: u32): void {
  while (true) {
    const l: u32 = 2 * i + 1;
    if (l >= m) return;
    let c = l;
    if (l + 1 < m && load<u32>(scratch + (<usize>(l + 1) << 2)) > load<u32>(scratch + (<usize>l << 2))) c = l + 1;
    const vi = load<u32>(scratch + (<usize>i << 2)), vc = load<u32>(scratch + (<usize>c << 2));
    if (vi >= vc) return;
    store<u32>(scratch + (<usize>i << 2), vc);
    store<u32>(scratch + (<usize>c << 2), vi);
    i = c;
  }
}

/** Index of `v` in the sorted distinct scratch[0, m) (it is there). */
function indexOf(v: u32, m: u32): u32 {
  let a: u32 = 0, b = m;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (load<u32>(scratch + (<usize>mid << 2)) < v) a = mid + 1; else b = mid;
  }
  return a;
}

/**
 * Replace every nonzero stamp of the `n` arrays `descAt(0 .. n-1)` by its rank among their
 * distinct nonzero stamps (1 = the oldest), keeping every order between them. Runs in passes over
 * ranges of stamps (lo, hi] of at most SCRATCH_N cells each, from the oldest: a rank written is at
 * most the pass's lo, so later passes (which take stamps above their lo) never see it again.
 * @returns the highest rank (0 when no stamp is set): the clock to go on from
 */
export function stampsRenumber(n: u32, descAt: (k: u32) => usize): u64 {
  renumbers++;
  let lo: u32 = 0, rank: u32 = 0;
  while (true) {
    let hi: u32 = 0xffff_ffff;
    const cnt = countIn(n, descAt, lo, hi);
    if (cnt == 0) break;
    if (cnt > SCRATCH_N) {
      // The largest hi with at most SCRATCH_N cells in (lo, hi] (count(lo, lo) = 0 ≤ S < count(lo, 2^32 - 1)).
      let a = lo, b: u32 = 0xffff_ffff;
      while (b - a > 1) {
        const mid = a + ((b - a) >> 1);
        if (countIn(n, descAt, lo, mid) <= SCRATCH_N) a = mid; else b = mid;
      }
      hi = a == lo ? lo + 1 : a;   // lo + 1 alone in more than SCRATCH_N cells: a pass of that one stamp
    }
    let m: u32 = 0;
    if (hi == lo + 1) { store<u32>(scratch, hi); m = 1; } else {
      m = scanStamps(n, descAt, lo, hi, SCAN_COLLECT, 0, 0);
      sortScratch(m);
      let k: u32 = 0;
      for (let j: u32 = 0; j < m; j++) {
        const v = load<u32>(scratch + (<usize>j << 2));
        if (k == 0 || v != load<u32>(scratch + (<usize>(k - 1) << 2))) { store<u32>(scratch + (<usize>k << 2), v); k++; }
      }
      m = k;
    }
    scanStamps(n, descAt, lo, hi, SCAN_RANK, rank, m);
    rank += m;
    if (hi == 0xffff_ffff) break;
    lo = hi;
  }
  return <u64>rank;
}
