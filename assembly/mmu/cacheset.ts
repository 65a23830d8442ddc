// One set record of a level of the cache hierarchy (mmu/cache.ts): its layout, the tag search,
// the replacement state's touch and removal, the victim and the fill. cache.ts owns the levels
// (geometry, storage, inclusion between levels); this file owns what happens inside one set.
//
// Set record (one per set, contiguous, 64-aligned): the ways' tags — u32 (line address + 1),
// u64 (wideTags: RAM above 256 GiB) or, in a level with `narrow` tags, u16 keys (the line's bits
// above the set index, + 1; in a hashed level, hashKey) — with 0 for an empty way, padded to 16 bytes; then at metaOff the
// LRU ranks (ways × u8, 0 = most recent, padded to 16) or the PLRU tree bits (one u64, padded to
// 16); the whole rounded up to 64 bytes (setStride). The searches read up to 64 bytes of tags
// past the last way; the lanes read there are masked off.

import { CPOL_PLRU } from "./cache";

@inline export const LINE_INVALID: u32 = 0;
@inline export const NO_MASK: u32 = 0xffff_ffff;

/** u64 tags (RAM above 256 GiB; tables-only machines): the set records' first layout. Else u32 (or u16 where narrow). */
export let wideTags: bool = false;
/** log2 of a (not narrow) tag's bytes: 2 (u32) or 3 (u64). */
export let tagShift: u32 = 2;
/** The victim of an 8-way PLRU set by its node bits 1..7 (index: bits >> 1). */
const plruVictims: usize = memory.data(128, 16);

/** Set the tag width of the levels that are not narrow (at setup), and fill the PLRU victim table. */
export function cacheSetSetup(wide: bool): void {
  wideTags = wide;
  tagShift = wide ? 3 : 2;
  for (let b: u32 = 0; b < 128; b++) store<u8>(plruVictims + b, <u8>plruTreeVictim(<u64>b << 1, 8));
}

/** Offset in a set record of its ranks (LRU) or tree bits (PLRU): after the tags (1 << `shift` bytes each), 16-aligned. */
@inline export function metaOff(ways: u32, shift: u32): usize {
  return (<usize>(ways << shift) + 15) & ~15;
}

/**
 * log2 of a tag's bytes in a level with u16 tags (`narrow`) or not. `u32Tags` (here and in the
 * set operations below): the caller knows the tags are not u64 (!wideTags), so the width folds to a
 * literal (cache.ts's shaped paths).
 */
@inline export function shiftOf(narrow: bool, u32Tags: bool = false): u32 {
  return narrow ? 1 : u32Tags ? 2 : tagShift;
}

/**
 * Bytes of one set record: the tags, then the ranks (LRU, padded to 16 for the i8x16 operations)
 * or the tree bits (PLRU), rounded up to whole 64-byte host lines, so that a set's tags start a
 * host cache line (the records are 64-aligned) and a lookup touches as few of the host's lines as
 * the record needs. At least 64: matchWays reads eight tags' worth, sixteen with more than eight
 * ways (≤ 64 bytes, inside the record: with 9–12 ways tags and ranks make exactly 64).
 */
@inline export function setStride(ways: u32, policy: u32, shift: u32): u32 {
  const meta: u32 = policy == CPOL_PLRU ? 16 : (ways + 15) & ~15;
  return max<u32>((<u32>metaOff(ways, shift) + meta + 63) & ~63, 64);
}

/**
 * The set of `line` in a level of `sets` sets (`mask` = sets − 1, or NO_MASK): its low bits when
 * sets is a power of two (physically indexed, as L1D and L2 are), else a multiplicative hash
 * reduced to [0, sets) (an LLC whose slice count is not a power of two; Intel's slice hash is
 * undocumented).
 */
@inline export function setIndex(line: u64, mask: u32, sets: u32): u32 {
  if (mask != NO_MASK) return <u32>line & mask;
  return <u32>((<u64>lineHash(line) * <u64>sets) >> 32);
}

/** The hash a hashed level's set index is taken from (setIndex): the high half of `line` × 2^64/φ. */
@inline export function lineHash(line: u64): u32 {
  return <u32>((line * 0x9e37_79b9_7f4a_7c15) >> 32);
}

/**
 * Lines this far apart or closer have distinct lineHash values: the smallest d ≥ 1 with d × 2^64/φ
 * (mod 2^64) within 2^32 of 0 is 2,971,215,073 (a Fibonacci number; found by search, and checked
 * again by test/core/cache-narrow.test.ts). Two lines whose hashes are equal have their products'
 * high halves equal, so their difference's product lies within 2^32 of 0 (mod 2^64).
 */
@inline export const HASH_DISTINCT_BELOW: u64 = 2_971_215_073;

/**
 * The u16 key of `line` in a hashed level (sets not a power of two) with u16 tags: lineHash mod
 * 65,535, + 1 (0 empty). Exact: the hashes of one set are consecutive integers (the set is
 * floor(hash × sets / 2^32)), at most ceil(2^32 / sets) ≤ 65,535 of them (hashedNarrow asks for
 * that), so their residues mod 65,535 differ; and where lines closer than HASH_DISTINCT_BELOW have
 * distinct hashes (every line of RAM, when RAM's last line is below it), distinct keys within a set
 * mean distinct lines. A key cannot be turned back into its line (the hash is not inverted here):
 * a level keyed so must never need a victim's line (hashedNarrow: not an inclusive LLC).
 */
@inline export function hashKey(line: u64): u64 {
  return <u64>(lineHash(line) % 65535) + 1;
}

/**
 * Whether a hashed level of `sets` sets can key its lines with hashKey on a machine whose highest
 * line + 1 is `top`: each set holds at most 65,535 hashes, and every line of RAM has its own hash.
 */
@inline export function hashedNarrow(sets: u32, top: u64): bool {
  return <u64>sets * 65535 >= (<u64>1 << 32) && top < HASH_DISTINCT_BELOW;
}

/**
 * The ways of the set record at `rec` (of `ways` tags; `valid` = the low `ways` bits) whose tag
 * is `tag`, one bit each. Four tags per SIMD compare; the first eight and (with more than eight
 * ways) the next eight are compared unconditionally, as independent compares joined into one mask,
 * so the search has no branch and no loop for up to 16 ways. Reading past the last way stays
 * inside the set record (64 bytes at least: setStride); the lanes read there are masked off.
 */
@inline export function matchWays(rec: usize, ways: u32, valid: u64, line: u64, narrow: bool, u32Tags: bool = false): u64 {
  if (narrow) return matchNarrow(rec, ways, valid, line);
  if (!u32Tags && wideTags) return matchWide(rec, ways, valid, line);
  const kv = i32x4.splat(<i32><u32>line);
  let hits = <u64>(i32x4.bitmask(i32x4.eq(v128.load(rec), kv))
    | (i32x4.bitmask(i32x4.eq(v128.load(rec, 16), kv)) << 4));
  if (ways > 8) {
    hits |= <u64>((i32x4.bitmask(i32x4.eq(v128.load(rec, 32), kv)) << 8)
      | (i32x4.bitmask(i32x4.eq(v128.load(rec, 48), kv)) << 12));
    if (ways > 16) for (let w: u32 = 16; w < ways; w += 4) hits |= <u64>i32x4.bitmask(i32x4.eq(v128.load(rec + (<usize>w << 2)), kv)) << w;
  }
  return hits & valid;
}

/** matchWays for u16 tags: eight per compare, the first sixteen without a loop (a record holds ≥ 32 bytes of tags). */
@inline export function matchNarrow(rec: usize, ways: u32, valid: u64, key: u64): u64 {
  const kv = i16x8.splat(<i16><u16>key);
  let hits = <u64>i16x8.bitmask(i16x8.eq(v128.load(rec), kv));
  if (ways > 8) {
    hits |= <u64>i16x8.bitmask(i16x8.eq(v128.load(rec, 16), kv)) << 8;
    if (ways > 16) for (let w: u32 = 16; w < ways; w += 8) hits |= <u64>i16x8.bitmask(i16x8.eq(v128.load(rec + (<usize>w << 1)), kv)) << w;
  }
  return hits & valid;
}

/** matchWays for u64 tags (two per compare; the record is ≥ 128 bytes with more than eight ways). */
export function matchWide(rec: usize, ways: u32, valid: u64, line: u64): u64 {
  const kv = i64x2.splat(<i64>line);
  let hits: u64 = 0;
  for (let w: u32 = 0; w < ways; w += 2) hits |= <u64>i64x2.bitmask(i64x2.eq(v128.load(rec + (<usize>w << 3)), kv)) << w;
  return hits & valid;
}

/** The tag of way `way` of the set record `rec` (a line address + 1, or LINE_INVALID). */
@inline export function tagOf(rec: usize, way: u32, narrow: bool, u32Tags: bool = false): u64 {
  if (narrow) return <u64>load<u16>(rec + (<usize>way << 1));
  return !u32Tags && wideTags ? load<u64>(rec + (<usize>way << 3)) : <u64>load<u32>(rec + (<usize>way << 2));
}

/** Set the tag of way `way` of the set record `rec`. */
@inline export function setTag(rec: usize, way: u32, line: u64, narrow: bool, u32Tags: bool = false): void {
  if (narrow) store<u16>(rec + (<usize>way << 1), <u16>line);
  else if (!u32Tags && wideTags) store<u64>(rec + (<usize>way << 3), line);
  else store<u32>(rec + (<usize>way << 2), <u32>line);
}

/** The mask of a set's `ways` ways. */
@inline export function waysValid(ways: u32): u64 {
  return ways >= 64 ? 0xffff_ffff_ffff_ffff : (<u64>1 << ways) - 1;
}

/**
 * Record a use of way `way` of the set record `rec` (LRU rank or PLRU tree bits). A PLRU touch
 * sets, clears or keeps each tree bit, so it is `(bits & keep) | set` with the two masks of the
 * way precomputed (plruKeep, plruSet) instead of a walk down the tree.
 */
@inline export function touchWay(rec: usize, ways: u32, policy: u32, plru: usize, way: u32, narrow: bool, u32Tags: bool = false): void {
  const meta = rec + metaOff(ways, shiftOf(narrow, u32Tags));
  if (policy == CPOL_PLRU) {
    const t = plru + (<usize>way << 4);
    store<u64>(meta, (load<u64>(meta) & load<u64>(t)) | load<u64>(t, 8));
    return;
  }
  const r = <u32>load<u8>(meta + way);
  if (r != 0) rankTouch(meta, ways, way, r);   // already the most recent: nothing moves
}

/**
 * Make way `way` (of rank `r`; `ways` for a way just filled) the most recent of the ranks at
 * `meta`: every rank below r goes up by one (i8x16.lt_u is −1 where true), 16 ways at a time,
 * then the way's rank is 0. Lanes past the last way and invalid ways' ranks change too but stay
 * ≤ ways and are never read.
 */
@inline export function rankTouch(meta: usize, ways: u32, way: u32, r: u32): void {
  // The way's 0 goes in with the same store (andnot of its lane), not with a u8 store after it: a
  // 16-byte load of these ranks soon after (the next reference to the set) would otherwise wait
  // for both stores to reach the host's L1D (no store-to-load forwarding from two stores).
  const rv = i8x16.splat(<i8>r);
  const lanes = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const v = v128.load(meta);
  v128.store(meta, v128.andnot(i8x16.sub(v, i8x16.lt_u(v, rv)), i8x16.eq(lanes, i8x16.splat(<i8>way))));
  if (ways > 16) for (let off: usize = 16; off < <usize>ways; off += 16) {
    const u = v128.load(meta + off);
    v128.store(meta + off, v128.andnot(i8x16.sub(u, i8x16.lt_u(u, rv)), i8x16.eq(lanes, i8x16.splat(<i8>(way - <u32>off)))));
  }
}

/** Way `way` of the set record `rec` leaves the recency order (it is being invalidated): every rank above its own comes down by one. */
@inline export function rankRemove(rec: usize, ways: u32, way: u32, narrow: bool): void {
  const meta = rec + metaOff(ways, shiftOf(narrow));
  const rv = i8x16.splat(<i8>load<u8>(meta + way));
  // Up to 16 ways (every preset's levels) one i8x16 pass, straight-line (a do-while with a literal
  // `ways` is not always unrolled inside a loop: cacheTouchAhead's).
  if (ways <= 16) {
    const v = v128.load(meta);
    v128.store(meta, i8x16.add(v, i8x16.gt_u(v, rv)));
    return;
  }
  let off: usize = 0;
  do {
    const v = v128.load(meta + off);
    v128.store(meta + off, i8x16.add(v, i8x16.gt_u(v, rv)));
    off += 16;
  } while (off < <usize>ways);
}

/**
 * The way a fill of the set record `rec` replaces: the first invalid way, else the policy's
 * victim: under LRU the way of rank ways − 1 (with every way valid the ranks are 0 … ways − 1).
 */
@inline export function victimOf(rec: usize, ways: u32, valid: u64, policy: u32, narrow: bool, u32Tags: bool = false): u32 {
  const empty = matchWays(rec, ways, valid, LINE_INVALID, narrow, u32Tags);
  if (empty != 0) return <u32>ctz(empty);
  const meta = rec + metaOff(ways, shiftOf(narrow, u32Tags));
  if (policy == CPOL_PLRU) {
    const bits = load<u64>(meta);
    // Eight ways (the L1Ds of skylake and zen4): 7 node bits, the victim of every state in plruVictims.
    if (ways == 8) return <u32>load<u8>(plruVictims + <usize>((<u32>bits >> 1) & 0x7f));
    return plruTreeVictim(bits, ways);
  }
  const last = i8x16.splat(<i8>(ways - 1));
  if (ways <= 16) return <u32>ctz(<u64>i8x16.bitmask(i8x16.eq(v128.load(meta), last)) & valid);   // straight-line (see rankRemove)
  let at: u64 = 0;
  let off: usize = 0;
  do {
    at |= <u64>i8x16.bitmask(i8x16.eq(v128.load(meta + off), last)) << off;
    off += 16;
  } while (off < <usize>ways);
  return <u32>ctz(at & valid);
}

/** The way tree PLRU replaces in a set of `ways` ways whose tree bits are `bits`: follow the bits from the root. */
export function plruTreeVictim(bits: u64, ways: u32): u32 {
  let node: u32 = 1, way: u32 = 0;
  for (let half = ways >> 1; half >= 1; half >>= 1) {
    const right = (bits & (<u64>1 << node)) != 0;
    if (right) way |= half;
    node = (node << 1) | (right ? 1 : 0);
  }
  return way;
}

/**
 * Put `line` (its tag: the line, or with `narrow` its u16 key) known absent into way victimOf of
 * set record `rec` as most recently used. @returns the tag evicted, or LINE_INVALID
 */
@inline export function fillSet(rec: usize, ways: u32, valid: u64, policy: u32, plru: usize, line: u64, narrow: bool, u32Tags: bool = false): u64 {
  const way = victimOf(rec, ways, valid, policy, narrow, u32Tags);
  const old = tagOf(rec, way, narrow, u32Tags);
  setTag(rec, way, line, narrow, u32Tags);
  if (policy == CPOL_PLRU) touchWay(rec, ways, policy, plru, way, narrow, u32Tags);
  else rankTouch(rec + metaOff(ways, shiftOf(narrow, u32Tags)), ways, way, old == <u64>LINE_INVALID ? ways : ways - 1);   // a valid victim is the least recent
  return old;
}
