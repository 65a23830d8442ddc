// Physical memory: the frames of emulated RAM and bounds-checked physical loads and stores.
//
// Owns: RAM size, the RAM region (full mode), and in tables-only mode the backing pool and the
// pfn → slot hash that says which frames carry bytes. Does not own what frames are used for
// (the buddy allocator and the host decide that).
//
// Two modes:
// - full: every byte of RAM lives in linear memory at ramBase + pa. Costs RAM bytes.
// - tables-only: RAM may be as large as 2^MAXPHYADDR, but only frames the host backs (page
//   tables, or data it wants to keep) have bytes, taken from a fixed pool. Costs
//   pool × 4 KiB plus 16 bytes of hash per pool frame. Reads of an unbacked frame return zero and
//   writes to it are dropped; both are counted.
// In both modes an access beyond RAM reads as all ones (what an unclaimed bus returns) and a
// write there is dropped; both are counted. Nothing here traps on a guest-supplied address.

import { count, Counter } from "../stats/counters";
import { PAGE_SHIFT, PAGE_SIZE, PAGE_OFFSET_MASK } from "../arch/x86/pgtable";

export let ramBytes: u64 = 0;
export let ramBase: usize = 0;      // full mode: byte 0 of RAM; tables-only: the backing pool
export let tablesOnly: bool = false;
/** Entries at physical addresses below this load straight from RAM (full mode); 0 in tables-only mode. */
export let entryLoadLimit: u64 = 0;

let poolFrames: u32 = 0;
let poolUsed: u32 = 0;               // slots handed out (a free stack reuses released ones)
let freeBase: usize = 0;             // stack of released slot numbers (u32)
let freeTop: u32 = 0;
let hashBase: usize = 0;             // open addressing, linear probing: key u64 (pfn+1), slot u32, pad
let hashMask: u32 = 0;
@inline const HASH_ENTRY: usize = 16;

/** Status codes of physBackFrame/physUnbackFrame. */
@inline export const BACK_OK: i32 = 0;
@inline export const BACK_ALREADY: i32 = 1;
@inline export const BACK_FULL_MODE: i32 = -1;    // full mode: every frame already has bytes
@inline export const BACK_OUT_OF_RAM: i32 = -2;   // pfn beyond RAM
@inline export const BACK_POOL_EXHAUSTED: i32 = -3;
@inline export const BACK_NOT_BACKED: i32 = -4;

export function ramSetup(bytes: u64, base: usize, onlyTables: bool, pool: u32, hash: usize, hashEntries: u32, free: usize): void {
  ramBytes = bytes;
  ramBase = base;
  tablesOnly = onlyTables;
  entryLoadLimit = onlyTables || bytes < 8 ? 0 : bytes - 7;
  poolFrames = pool;
  poolUsed = 0;
  hashBase = hash;
  hashMask = hashEntries - 1;
  freeBase = free;
  freeTop = 0;
}

/** Hash table entries needed for a pool of `pool` frames (load factor ≤ 1/2, power of two). */
export function hashEntriesFor(pool: u32): u32 {
  let n: u32 = 16;
  while (n < pool * 2) n <<= 1;
  return n;
}

@inline function hashSlotOf(pfn: u64): u32 {
  // Fibonacci hashing spreads the clustered pfns of page tables over the table.
  return <u32>((pfn * 0x9E37_79B9_7F4A_7C15) >> 32) & hashMask;
}

/** Linear-memory pointer to the bytes of frame `pfn`, or 0 when it has none. */
export function framePtr(pfn: u64): usize {
  if (pfn >= (ramBytes >> PAGE_SHIFT)) return 0;
  if (!tablesOnly) return ramBase + (<usize>pfn << PAGE_SHIFT);
  const key = pfn + 1;
  let i = hashSlotOf(pfn);
  while (true) {
    const e = hashBase + (<usize>i) * HASH_ENTRY;
    const k = load<u64>(e);
    if (k == key) return ramBase + (<usize>load<u32>(e, 8) << PAGE_SHIFT);
    if (k == 0) return 0;
    i = (i + 1) & hashMask;
  }
}

/** Give frame `pfn` bytes from the pool (tables-only mode); the frame reads as zero afterwards. */
export function physBackFrame(pfn: u64): i32 {
  if (!tablesOnly) return BACK_FULL_MODE;
  if (pfn >= (ramBytes >> PAGE_SHIFT)) return BACK_OUT_OF_RAM;
  if (framePtr(pfn) != 0) return BACK_ALREADY;
  let slot: u32;
  if (freeTop > 0) slot = load<u32>(freeBase + (<usize>(--freeTop) << 2));
  else if (poolUsed < poolFrames) slot = poolUsed++;
  else return BACK_POOL_EXHAUSTED;
  let i = hashSlotOf(pfn);
  while (load<u64>(hashBase + (<usize>i) * HASH_ENTRY) != 0) i = (i + 1) & hashMask;
  const e = hashBase + (<usize>i) * HASH_ENTRY;
  store<u64>(e, pfn + 1);
  store<u32>(e, slot, 8);
  memory.fill(ramBase + (<usize>slot << PAGE_SHIFT), 0, <usize>PAGE_SIZE);
  return BACK_OK;
}

/** Return frame `pfn`'s bytes to the pool (tables-only mode). */
export function physUnbackFrame(pfn: u64): i32 {
  if (!tablesOnly) return BACK_FULL_MODE;
  const key = pfn + 1;
  let i = hashSlotOf(pfn);
  while (true) {
    const e = hashBase + (<usize>i) * HASH_ENTRY;
    const k = load<u64>(e);
    if (k == 0) return BACK_NOT_BACKED;
    if (k == key) break;
    i = (i + 1) & hashMask;
  }
  const hole = hashBase + (<usize>i) * HASH_ENTRY;
  store<u32>(freeBase + (<usize>(freeTop++) << 2), load<u32>(hole, 8));
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  let gap = i;
  let j = (i + 1) & hashMask;
  while (true) {
    const ej = hashBase + (<usize>j) * HASH_ENTRY;
    const kj = load<u64>(ej);
    if (kj == 0) break;
    const home = hashSlotOf(kj - 1);
    // Move entry j into the gap when its home position does not lie cyclically in (gap, j].
    if (((j - home) & hashMask) >= ((j - gap) & hashMask)) {
      const eg = hashBase + (<usize>gap) * HASH_ENTRY;
      store<u64>(eg, kj);
      store<u32>(eg, load<u32>(ej, 8), 8);
      gap = j;
    }
    j = (j + 1) & hashMask;
  }
  store<u64>(hashBase + (<usize>gap) * HASH_ENTRY, 0);
  return BACK_OK;
}

/** Frames currently backed in tables-only mode. */
export function physBackedFrames(): u32 {
  return poolUsed - freeTop;
}

export function physPoolFrames(): u32 {
  return poolFrames;
}

/**
 * Pointer to `pa` when the `size` bytes at `pa` lie in one backed frame, else 0.
 * The common case of every access; callers fall back to bytewise access on 0.
 */
@inline export function physPtr(pa: u64, size: u32): usize {
  if (!tablesOnly) {
    return pa + size <= ramBytes && pa < ramBytes ? ramBase + <usize>pa : 0;
  }
  if ((pa & PAGE_OFFSET_MASK) + size > PAGE_SIZE) return 0;
  const f = framePtr(pa >> PAGE_SHIFT);
  return f == 0 ? 0 : f + <usize>(pa & PAGE_OFFSET_MASK);
}

/**
 * Read one byte; beyond RAM reads 0xff, an unbacked frame reads 0 (counted in `ctr`). `wrapped`
 * marks a byte of a split access whose address passed 2^64: it is beyond RAM, not at 0.
 */
function physReadByte(pa: u64, wrapped: bool, ctr: usize): u64 {
  if (wrapped || pa >= ramBytes) { count(ctr, Counter.PHYS_READ_OOB); return 0xff; }
  const f = framePtr(pa >> PAGE_SHIFT);
  if (f == 0) { count(ctr, Counter.PHYS_READ_UNBACKED); return 0; }
  return <u64>load<u8>(f + <usize>(pa & PAGE_OFFSET_MASK));
}

function physWriteByte(pa: u64, wrapped: bool, v: u8, ctr: usize): void {
  if (wrapped || pa >= ramBytes) { count(ctr, Counter.PHYS_WRITE_OOB); return; }
  const f = framePtr(pa >> PAGE_SHIFT);
  if (f == 0) { count(ctr, Counter.PHYS_WRITE_UNBACKED); return; }
  store<u8>(f + <usize>(pa & PAGE_OFFSET_MASK), v);
}

/**
 * Little-endian physical read of 1, 2, 4 or 8 bytes. An access that crosses a frame or the
 * end of RAM is split bytewise, each byte following the rules above.
 */
export function physRead(pa: u64, size: u32, ctr: usize): u64 {
  const p = physPtr(pa, size);
  if (p != 0) {
    if (size == 8) return load<u64>(p);
    if (size == 4) return <u64>load<u32>(p);
    if (size == 2) return <u64>load<u16>(p);
    return <u64>load<u8>(p);
  }
  let v: u64 = 0;
  for (let i: u32 = 0; i < size; i++) v |= physReadByte(pa + i, pa + i < pa, ctr) << (i << 3);
  return v;
}

/** Little-endian physical write of 1, 2, 4 or 8 bytes (split as physRead). */
export function physWrite(pa: u64, size: u32, v: u64, ctr: usize): void {
  const p = physPtr(pa, size);
  if (p != 0) {
    if (size == 8) store<u64>(p, v);
    else if (size == 4) store<u32>(p, <u32>v);
    else if (size == 2) store<u16>(p, <u16>v);
    else store<u8>(p, <u8>v);
    return;
  }
  for (let i: u32 = 0; i < size; i++) physWriteByte(pa + i, pa + i < pa, <u8>(v >> (i << 3)), ctr);
}

/**
 * Read a paging-structure entry (8-byte aligned by construction). Only full mode inside RAM is
 * inline (the walker's level loop): tables-only lookups and the edge cases go through physRead,
 * which gives the same answer, so the hash probe's code and values stay out of that loop.
 */
@inline export function physLoadEntry(pa: u64, ctr: usize): u64 {
  return physLoadEntryBelow(pa, entryLoadLimit, ramBase, ctr);
}

/**
 * physLoadEntry with entryLoadLimit and ramBase in hand: a walk reads those globals once, not
 * per level (the JIT reloads a global after every store to memory).
 */
@inline export function physLoadEntryBelow(pa: u64, limit: u64, base: usize, ctr: usize): u64 {
  return pa < limit ? load<u64>(base + <usize>pa) : physRead(pa, 8, ctr);
}

/**
 * Write a paging-structure entry (8-byte aligned): physLoadEntry's twin — full mode inside RAM
 * inline, anything else through physWrite, which writes the same bytes.
 */
@inline export function physStoreEntry(pa: u64, v: u64, ctr: usize): void {
  if (pa < entryLoadLimit) store<u64>(ramBase + <usize>pa, v);
  else physWrite(pa, 8, v, ctr);
}

/**
 * Atomically replace the entry at `pa` if it still holds `expected` (SDM §4.8: A/D updates are
 * locked read-modify-writes). Returns false when the entry changed, so the walker re-walks.
 * Entries without bytes cannot reach here: they read as all ones (reserved) or zero (not present).
 */
@inline export function physCmpxchgEntry(pa: u64, expected: u64, replacement: u64): bool {
  const p = physPtr(pa, 8);
  if (p == 0) return true;
  return atomic.cmpxchg<u64>(p, expected, replacement) == expected;
}

/**
 * A 32-bit checksum of frame `pfn`'s 4096 bytes (what a swap slot's contents are held to when
 * read back): four lanes of FNV-style multiply-xor over the page's 16-byte blocks, folded. 0 when
 * the frame has no bytes. One pass of v128 loads: cheap enough for every swap-out and swap-in.
 */
export function physFrameHash(pfn: u32): u32 {
  const p = framePtr(<u64>pfn);
  if (p == 0) return 0;
  const prime = i32x4.splat(0x0100_0193);
  let h = i32x4(0x811c_9dc5, 0x2f3a_7b15, 0x5bd1_e995, 0x27d4_eb2f);
  for (let off: usize = 0; off < PAGE_SIZE; off += 16) {
    h = i32x4.mul(v128.xor(h, v128.load(p + off)), prime);
    h = v128.xor(h, i32x4.shr_u(h, 15));
  }
  let r: u32 = 0x811c_9dc5;
  r = (r ^ i32x4.extract_lane(h, 0)) * 0x0100_0193;
  r = (r ^ i32x4.extract_lane(h, 1)) * 0x0100_0193;
  r = (r ^ i32x4.extract_lane(h, 2)) * 0x0100_0193;
  r = (r ^ i32x4.extract_lane(h, 3)) * 0x0100_0193;
  return r;
}

/**
 * 1 when frame `pfn` holds only zero bytes (or has no bytes: it reads as zeroes), else 0
 * (is_folio_zero_filled). Like the kernel's, it tests the last word first and stops at the first
 * non-zero block: a page with data costs a few loads, only an all-zero page is read whole.
 */
export function physFrameZero(pfn: u32): u32 {
  const p = framePtr(<u64>pfn);
  if (p == 0) return 1;
  if (load<u64>(p + <usize>PAGE_SIZE - 8) != 0) return 0;
  for (let off: usize = 0; off < PAGE_SIZE; off += 128) {
    const a = v128.or(v128.or(v128.load(p + off), v128.load(p + off, 16)), v128.or(v128.load(p + off, 32), v128.load(p + off, 48)));
    const b = v128.or(v128.or(v128.load(p + off, 64), v128.load(p + off, 80)), v128.or(v128.load(p + off, 96), v128.load(p + off, 112)));
    if (v128.any_true(v128.or(a, b))) return 0;
  }
  return 1;
}
