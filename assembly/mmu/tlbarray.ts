// One set-associative translation array: the building block of every TLB and paging-structure
// cache. Lookup compares four 32-bit tag keys per v128 instruction and confirms the (rare)
// candidates against the full entry, so a probe of a 4-way set is one SIMD compare. Where a key
// is known to be exact (replay/loop.ts hitRun: every valid entry of the current PCID tag, keys
// that hold vpn bit 35 and addresses of the lower half) setKeyHits alone finds the entry.
//
// Owns: nothing global; each array lives in its CPU's region, described by a descriptor:
//
//   Descriptor, DESC_SIZE = 64 bytes
//   +0  sets u32        +4  ways u32        +8  waysPadded u32 (multiple of 4)
//   +12 setMask u32     +16 setShift u32    +20 sizes u32 (SIZE_MASK_* it holds)
//   +24 policy u32      +28 rng u32 (xorshift32 state)
//   +32 keys u32 ptr    +36 entries u32 ptr +40 plru u32 ptr (u64 per set)
//   +44 role u32        +48 level u32 (PSC: 2..5)   +52 splinters u32 (entries filled smaller than their page)
//   +56 stamps u32 ptr    +60 oneTag u32: the PCID tag (PCID, VPID in 15:12) every valid entry
//                               was filled with; TAG_NONE when none was since the last full clear,
//                               TAG_MIXED when two differed (arrayOneTag: the replay's exact probe)
//
//   keys:    sets × waysPadded u32: low 32 bits of (vpn >> setShift); INVALID_KEY when empty
//   stamps:  sets × waysPadded u32: the CPU clock at the last use (LRU) or fill; 0 = invalid.
//            Kept apart from the entries so choosing a victim reads one or two cache lines (a
//            12-way set: 48 bytes, three i32x4 loads). 32 bits because the clocks are renumbered
//            before they reach 2^32 (tlbclock.ts): only the order of stamps is ever read.
//   Entry, ENTRY_SIZE = 16 bytes (same index as its key): two words
//   +0  tag u64:  bits 47:0 the vpn (linear address >> the entry's page shift; a 4 KiB vpn of a
//                 canonical address has 52 bits whose top four copy bit 47, so 48 hold it),
//                 bits 63:48 the PCID tag (PCID, VPID in 15:12: E_PCID, a u16 at +6)
//   +8  data u64: bits 39:0 the pfn (4 KiB frame of the page start; PSC: frame of the next
//                 table; MAXPHYADDR <= 52), bits 63:40 the flags (RIGHT_* | TLBF_*, 23 bits)
//   Sixteen bytes (32 before) halve an array's footprint — a 1,536-entry second level takes
//   24 KiB — so more of a large live set stays in the host's L1 data cache (issue #17 (b); no
//   speed-up above the shared bench machine's noise yet, bench/RESULTS.md), and a non-global hit
//   is confirmed with one 64-bit compare of the tag word (vpn and PCID at once). An invalid entry
//   has a zero data word. Read the fields through entryVpn, entryPcid, entryPfn and entryFlags.
//
// Replacement (chosen per array): "lru" evicts the way with the oldest stamp (exact LRU),
// "plru" a tree pseudo-LRU over power-of-two ways (ways-1 bits per set), "random" a seeded
// xorshift32 choice. Invalid ways are always filled first.

import { RIGHT_GLOBAL } from "../abi/layout";
import { plruTouchBits } from "./plru";

@inline export const DESC_SIZE: usize = 64;
@inline export const D_SETS: usize = 0;
@inline export const D_WAYS: usize = 4;
@inline export const D_WAYS_PADDED: usize = 8;
@inline export const D_SET_MASK: usize = 12;
@inline export const D_SET_SHIFT: usize = 16;
@inline export const D_SIZES: usize = 20;
@inline export const D_POLICY: usize = 24;
@inline export const D_RNG: usize = 28;
@inline export const D_KEYS: usize = 32;
@inline export const D_ENTRIES: usize = 36;
@inline export const D_PLRU: usize = 40;
@inline export const D_ROLE: usize = 44;
@inline export const D_LEVEL: usize = 48;
@inline export const D_SPLINTERS: usize = 52;
@inline export const D_STAMPS: usize = 56;
@inline export const D_ONE_TAG: usize = 60;
/** D_ONE_TAG of an array filled with nothing since its last full clear. */
@inline export const TAG_NONE: u32 = 0xffff_ffff;
/** D_ONE_TAG of an array holding entries of two or more PCID tags (until a full clear). */
@inline export const TAG_MIXED: u32 = 0xffff_fffe;

@inline export const ENTRY_SIZE: usize = 16;
@inline export const ENTRY_SHIFT: usize = 4;
/** The tag word (vpn in bits 47:0, PCID tag in 63:48). */
@inline export const E_VPN: usize = 0;
/** The PCID tag, a u16 (the tag word's top quarter). */
@inline export const E_PCID: usize = 6;
/** The data word (pfn in bits 39:0, flags in 63:40). */
@inline export const E_PFN: usize = 8;
/** A u32 whose bits 31:8 are the flags (E_FLAGS_SHIFT). */
@inline export const E_FLAGS: usize = 12;
@inline export const E_FLAGS_SHIFT: u32 = 8;
@inline export const E_VPN_BITS: u64 = 48;
@inline export const E_PFN_BITS: u64 = 40;
@inline const VPN_MASK: u64 = (<u64>1 << E_VPN_BITS) - 1;
@inline const PFN_MASK: u64 = (<u64>1 << E_PFN_BITS) - 1;
@inline const FLAGS_AT: u64 = E_PFN_BITS;   // bit of the data word where the flags start
/** The tag word's bits other than the PCID within its VPID (a global entry ignores those). */
@inline const ANY_PCID_OF_VPID: u64 = ~(<u64>0xfff << E_VPN_BITS);

/** Entry `e`'s flags (RIGHT_* | TLBF_*). */
@inline export function entryFlags(e: usize): u32 {
  return load<u32>(e + E_FLAGS) >> E_FLAGS_SHIFT;
}

/** Entry `e`'s pfn (4 KiB frame of its page's start; PSC: of the next table). */
@inline export function entryPfn(e: usize): u64 {
  return load<u64>(e + E_PFN) & PFN_MASK;
}

/** Entry `e`'s PCID tag (PCID, with the VPID in bits 15:12). */
@inline export function entryPcid(e: usize): u32 {
  return <u32>load<u16>(e + E_PCID);
}

/**
 * Entry `e`'s vpn as the caller computed it (va >> page shift, a logical shift): bits 51:48 of a
 * 4 KiB vpn copy bit 47 (canonical addresses), so sign-extending from bit 47 to 52 bits restores
 * it; every other vpn is below 2^44 and unchanged.
 */
@inline export function entryVpn(e: usize): u64 {
  return <u64>((<i64>(load<u64>(e + E_VPN) << 16)) >> 16) & 0x000f_ffff_ffff_ffff;
}

/** The tag word of `vpn` for PCID tag `pcid`. */
@inline export function tagWord(vpn: u64, pcid: u32): u64 {
  return (vpn & VPN_MASK) | (<u64>pcid << E_VPN_BITS);
}

@inline export const INVALID_KEY: u32 = 0xffff_ffff;

/**
 * Entry flags. The low 12 bits are the translation's rights in the result record's encoding
 * (RIGHT_WRITE, RIGHT_USER, RIGHT_NX, RIGHT_GLOBAL, RIGHT_DIRTY, the pkey at RIGHT_PKEY_SHIFT:
 * abi/layout.ts), so a hit reports its rights without converting them; above them the entry's own
 * fields. SIZE is the entry's own page size; ORIGIN the translation's (larger when splintered).
 */
@inline export const TLBF_RIGHTS_MASK: u32 = 0xfff;
@inline export const TLBF_VALID: u32 = 1 << 12;
/** The entry is as large as its translation allows: nested paging capped it below its page
 * (ORIGIN) at the EPT page size, so a refill from it must not grow it back (mmu/tlb.ts roleFill). */
@inline export const TLBF_CAPPED: u32 = 1 << 13;
@inline export const TLBF_SIZE_SHIFT: u32 = 16;    // 2 bits: SIZE_4K/2M/1G
@inline export const TLBF_ORIGIN_SHIFT: u32 = 18;  // 2 bits
@inline export const TLBF_MEMTYPE_SHIFT: u32 = 20; // 3 bits

@inline export const SIZE_4K: u32 = 0;
@inline export const SIZE_2M: u32 = 1;
@inline export const SIZE_1G: u32 = 2;
@inline export const SIZE_MASK_4K: u32 = 1 << SIZE_4K;
@inline export const SIZE_MASK_2M: u32 = 1 << SIZE_2M;
@inline export const SIZE_MASK_1G: u32 = 1 << SIZE_1G;

@inline export const POLICY_LRU: u32 = 0;
@inline export const POLICY_PLRU: u32 = 1;
@inline export const POLICY_RANDOM: u32 = 2;

/** Page shift of a size code: 12, 21, 30. */
@inline export function sizeShift(size: u32): u64 {
  return 12 + 9 * <u64>size;
}

/** Bytes of linear memory an array of `sets` × `ways` needs (keys, entries, u32 stamps, PLRU words). */
export function arrayBytes(sets: u32, ways: u32): u64 {
  const wp = (ways + 3) & ~3;
  return <u64>sets * wp * 4 + <u64>sets * wp * ENTRY_SIZE + <u64>sets * wp * 4 + <u64>sets * 8 + 64;
}

/** Lay out an array's storage at `mem` (16-byte aligned) and fill its descriptor. Empty. */
export function arraySetup(d: usize, mem: usize, role: u32, level: u32, sets: u32, ways: u32, sizes: u32, policy: u32, seed: u32): void {
  const wp = (ways + 3) & ~3;
  store<u32>(d + D_SETS, sets);
  store<u32>(d + D_WAYS, ways);
  store<u32>(d + D_WAYS_PADDED, wp);
  store<u32>(d + D_SET_MASK, sets == 0 ? 0 : sets - 1);
  store<u32>(d + D_SET_SHIFT, sets <= 1 ? 0 : 31 - clz(sets));
  store<u32>(d + D_SIZES, sizes);
  store<u32>(d + D_POLICY, policy);
  store<u32>(d + D_RNG, seed == 0 ? 0x9e37_79b9 : seed);
  const keys = (mem + 15) & ~15;
  const entries = keys + <usize>sets * wp * 4;
  const stamps = entries + <usize>sets * wp * ENTRY_SIZE;
  store<u32>(d + D_KEYS, <u32>keys);
  store<u32>(d + D_ENTRIES, <u32>entries);
  store<u32>(d + D_STAMPS, <u32>stamps);
  store<u32>(d + D_PLRU, <u32>(stamps + <usize>sets * wp * 4));
  store<u32>(d + D_ROLE, role);
  store<u32>(d + D_LEVEL, level);
  arrayClear(d);
}

/** Invalidate every entry. */
export function arrayClear(d: usize): void {
  const sets = load<u32>(d + D_SETS);
  const wp = load<u32>(d + D_WAYS_PADDED);
  const n = <usize>sets * wp;
  memory.fill(load<u32>(d + D_KEYS), 0xff, n << 2);
  memory.fill(load<u32>(d + D_ENTRIES), 0, n << ENTRY_SHIFT);
  memory.fill(load<u32>(d + D_STAMPS), 0, n << STAMP_SHIFT);
  memory.fill(load<u32>(d + D_PLRU), 0, <usize>sets << 3);
  store<u32>(d + D_SPLINTERS, 0);
  store<u32>(d + D_ONE_TAG, TAG_NONE);
}

/**
 * The PCID tag that every valid entry of `d` carries, TAG_NONE if no entry was filled since the
 * last full clear, TAG_MIXED if entries of two tags were. Invalidations leave it as it was (it
 * stays true of the entries that remain), so TAG_MIXED holds until the next full clear.
 */
@inline export function arrayOneTag(d: usize): u32 {
  return load<u32>(d + D_ONE_TAG);
}

/** Claim the array for tag `pcid` if it holds no entry (arrayOneTag TAG_NONE). */
@inline export function arrayClaimTag(d: usize, pcid: u32): void {
  if (load<u32>(d + D_ONE_TAG) == TAG_NONE) store<u32>(d + D_ONE_TAG, pcid);
}

/** Keep D_ONE_TAG true when an entry with PCID tag `pcid` is written. */
@inline function noteTag(d: usize, pcid: u32): void {
  const t = load<u32>(d + D_ONE_TAG);
  if (t != pcid) store<u32>(d + D_ONE_TAG, t == TAG_NONE ? pcid : TAG_MIXED);
}

@inline function keyOf(d: usize, vpn: u64): u32 {
  return <u32>(vpn >> load<u32>(d + D_SET_SHIFT));
}

/**
 * Find the valid entry for `vpn` at page size `size` usable with `pcid` (its own PCID, or global).
 * Sets of up to 16 ways (every TLB geometry we model) take one to four tag compares whose hit
 * masks are joined, with no loop over the set; wider sets loop over groups of four.
 * @returns the entry's address, or 0
 */
@inline export function arrayLookup(d: usize, vpn: u64, size: u32, pcid: u32): usize {
  const set = <u32>vpn & load<u32>(d + D_SET_MASK);
  const wp = load<u32>(d + D_WAYS_PADDED);
  const first = set * wp;
  const keys = <usize>load<u32>(d + D_KEYS) + (<usize>first << 2);
  const entries = <usize>load<u32>(d + D_ENTRIES) + (<usize>first << ENTRY_SHIFT);
  const kv = i32x4.splat(<i32>keyOf(d, vpn));
  const want = tagWord(vpn, pcid);
  if (wp - 1 < 16) {  // 4, 8, 12 or 16 (an empty array, wp 0, wraps past and reads nothing)
    let hits = <u32>i32x4.bitmask(i32x4.eq(v128.load(keys), kv));
    if (wp > 4) {
      hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(keys, 16), kv)) << 4;
      if (wp > 8) {
        hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(keys, 32), kv)) << 8;
        if (wp > 12) hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(keys, 48), kv)) << 12;
      }
    }
    return confirmHit(entries, hits, want, size);
  }
  for (let w: u32 = 0; w < wp; w += 4) {
    const hits = <u32>i32x4.bitmask(i32x4.eq(v128.load(keys + (<usize>w << 2)), kv));
    const e = confirmHit(entries + (<usize>w << ENTRY_SHIFT), hits, want, size);
    if (e != 0) return e;
  }
  return 0;
}

/**
 * The first of the ways in `hits` (bit i: entry i from `entries`) whose tag key matched that
 * really holds the translation of tag word `want` (tagWord: vpn and PCID tag) at `size`
 * (usually the only one), or 0.
 */
@inline function confirmHit(entries: usize, hits: u32, want: u64, size: u32): usize {
  while (hits != 0) {
    const e = entries + (<usize>ctz(hits) << ENTRY_SHIFT);
    const x = load<u64>(e + E_VPN) ^ want;
    const f = entryFlags(e);
    const valid = <u32>((f & (TLBF_VALID | (<u32>3 << TLBF_SIZE_SHIFT))) == (TLBF_VALID | (size << TLBF_SIZE_SHIFT)));
    // Same vpn and PCID tag: x == 0. A global entry matches every PCID of its VPID (the tag's
    // bits 15:12, mmu/nested.ts): same vpn and VPID, x zero but for the PCID's bits 59:48.
    if ((valid & (<u32>(x == 0) | (<u32>((f & RIGHT_GLOBAL) != 0) & <u32>((x & ANY_PCID_OF_VPID) == 0)))) != 0) return e;
    hits &= hits - 1;
  }
  return 0;
}

/**
 * Bit w set for each of the `wp` ways (a literal 4, 8, 12 or 16: the compares unroll) of the set
 * whose keys start at `keys` that holds tag key `key`. Exact — at most one bit, the entry of the
 * translation — when the caller knows the key holds the whole vpn above the set index and every
 * valid entry its PCID tag (arrayOneTag), as the replay's specialised loop does (replay/loop.ts
 * hitRun); otherwise candidates for confirmHit.
 */
@inline export function setKeyHits(keys: usize, key: u32, wp: u32): u32 {
  const kv = i32x4.splat(<i32>key);
  let hits = <u32>i32x4.bitmask(i32x4.eq(v128.load(keys), kv));
  if (wp > 4) hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(keys, 16), kv)) << 4;
  if (wp > 8) hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(keys, 32), kv)) << 8;
  if (wp > 12) hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(keys, 48), kv)) << 12;
  return hits;
}

/** log2 of a stamp's bytes (a u32). */
@inline export const STAMP_SHIFT: usize = 2;

/** The stamp (a u32) of entry `e` of array `d`. */
@inline export function stampOf(d: usize, e: usize): usize {
  return <usize>load<u32>(d + D_STAMPS) + ((e - <usize>load<u32>(d + D_ENTRIES)) >> (ENTRY_SHIFT - STAMP_SHIFT));
}

/** Record a use of entry `e` of array `d` for the replacement policy (`tick`: the CPU's clock). */
@inline export function arrayTouch(d: usize, e: usize, tick: u64): void {
  const policy = load<u32>(d + D_POLICY);
  if (policy == POLICY_LRU) {
    store<u32>(stampOf(d, e), <u32>tick);
  } else if (policy == POLICY_PLRU) {
    const index = <u32>((e - <usize>load<u32>(d + D_ENTRIES)) >> ENTRY_SHIFT);
    const wp = load<u32>(d + D_WAYS_PADDED);
    plruTouch(d, index / wp, index % wp);
  }
}

/** Tree PLRU: point every node on the way's path away from it. Node i's bit set = go right. */
function plruTouch(d: usize, set: u32, way: u32): void {
  const ways = load<u32>(d + D_WAYS);
  const p = <usize>load<u32>(d + D_PLRU) + (<usize>set << 3);
  store<u64>(p, plruTouchBits(load<u64>(p), ways, way));
}

function plruVictim(d: usize, set: u32): u32 {
  const ways = load<u32>(d + D_WAYS);
  const bits = load<u64>(<usize>load<u32>(d + D_PLRU) + (<usize>set << 3));
  let node: u32 = 1;
  let way: u32 = 0;
  for (let half = ways >> 1; half >= 1; half >>= 1) {
    const right = (bits & (<u64>1 << node)) != 0;
    if (right) way |= half;
    node = (node << 1) | (right ? 1 : 0);
  }
  return way;
}

/**
 * Insert a translation, replacing an entry for the same page/size/PCID if present (a re-walk
 * after a write through a clean entry), else as arrayFillAbsent. @returns the entry written
 */
export function arrayFill(d: usize, vpn: u64, pfn: u64, pcid: u32, flags: u32, tick: u64): usize {
  const set = <u32>vpn & load<u32>(d + D_SET_MASK);
  const ways = load<u32>(d + D_WAYS);
  const wp = load<u32>(d + D_WAYS_PADDED);
  const first = set * wp;
  const entries = <usize>load<u32>(d + D_ENTRIES) + (<usize>first << ENTRY_SHIFT);
  const size = (flags >> TLBF_SIZE_SHIFT) & 3;
  const want = tagWord(vpn, pcid);
  for (let w: u32 = 0; w < ways; w++) {
    const e = entries + (<usize>w << ENTRY_SHIFT);
    const f = entryFlags(e);
    if ((f & TLBF_VALID) != 0 && load<u64>(e + E_VPN) == want && ((f >> TLBF_SIZE_SHIFT) & 3) == size) {
      writeEntry(d, first + w, vpn, pfn, pcid, flags, tick);
      return e;
    }
  }
  return arrayFillAbsent(d, vpn, pfn, pcid, flags, tick);
}

/**
 * Put an entry at `index` of array `d`, whose keys, entries and stamps start at `keys`, `ents` and
 * `stamps` (the caller has them at hand, from the descriptor or as hitRun's literals): its key,
 * tag word, data word (pfn and flags) and stamp, and the splinter count when the entry is smaller
 * than its page. The one place an entry's words are written; its PCID tag is the caller's to note
 * (noteTag). @returns the entry
 */
@inline export function entryPlace(d: usize, keys: usize, ents: usize, stamps: usize, index: u32, key: u32, tag: u64, data: u64, tick: u64, splinters: bool = true): usize {
  const e = ents + (<usize>index << ENTRY_SHIFT);
  store<u32>(keys + (<usize>index << 2), key);
  store<u64>(e + E_VPN, tag);
  store<u64>(e + E_PFN, data);
  store<u32>(stamps + (<usize>index << STAMP_SHIFT), <u32>tick);
  const f = <u32>(data >> FLAGS_AT);
  if (splinters && ((f >> TLBF_ORIGIN_SHIFT) & 3) != ((f >> TLBF_SIZE_SHIFT) & 3)) store<u32>(d + D_SPLINTERS, load<u32>(d + D_SPLINTERS) + 1);
  return e;
}

/** Write entry `index` of array `d` (key, entry, stamp; PLRU/policy bookkeeping). */
@inline function writeEntry(d: usize, index: u32, vpn: u64, pfn: u64, pcid: u32, flags: u32, tick: u64): usize {
  noteTag(d, pcid);
  const e = entryPlace(d, <usize>load<u32>(d + D_KEYS), <usize>load<u32>(d + D_ENTRIES), <usize>load<u32>(d + D_STAMPS), index,
    keyOf(d, vpn), tagWord(vpn, pcid), (pfn & PFN_MASK) | (<u64>(flags | TLBF_VALID) << FLAGS_AT), tick);
  if (load<u32>(d + D_POLICY) == POLICY_PLRU) {
    const wp = load<u32>(d + D_WAYS_PADDED);
    plruTouch(d, index / wp, index % wp);
  }
  return e;
}

/**
 * The way of the set whose stamps (u32) start at `stamps` with the oldest stamp, the lowest such
 * way on a tie (so an invalid way, stamp 0, first). Branch-free: which way is older is data the
 * predictor cannot learn. Up to 16 ways in multiples of four (every preset's) take one unsigned
 * minimum per four ways, a reduction across the lanes, and one compare per four ways against the
 * minimum, whose lowest set bit is the way; other shapes go one way at a time.
 */
@inline export function oldestWay(stamps: usize, ways: u32): u32 {
  if (ways >= 4 && ways <= 16 && (ways & 3) == 0) {
    // Unrolled (no loop, no stack check): with `ways` a literal only the groups it has remain.
    const a = v128.load(stamps);
    let m = a;
    if (ways > 4) m = i32x4.min_u(m, v128.load(stamps, 16));
    if (ways > 8) m = i32x4.min_u(m, v128.load(stamps, 32));
    if (ways > 12) m = i32x4.min_u(m, v128.load(stamps, 48));
    m = i32x4.min_u(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
    m = i32x4.min_u(m, i32x4.shuffle(m, m, 1, 0, 3, 2));
    let hits = <u32>i32x4.bitmask(i32x4.eq(a, m));
    if (ways > 4) hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(stamps, 16), m)) << 4;
    if (ways > 8) hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(stamps, 32), m)) << 8;
    if (ways > 12) hits |= <u32>i32x4.bitmask(i32x4.eq(v128.load(stamps, 48), m)) << 12;
    return ctz(hits);
  }
  let way: u32 = 0;
  let best: u32 = 0xffff_ffff;
  for (let w: u32 = 0; w < ways; w++) {
    const s = load<u32>(stamps + (<usize>w << STAMP_SHIFT));
    const older = s < best;
    way = select<u32>(w, way, older);
    best = select<u32>(s, best, older);
  }
  return way;
}

/**
 * arrayFill for a translation known to be absent (the caller just missed on it): an invalid way
 * (stamp 0) if there is one, else the policy's victim. @returns the entry written
 */
export function arrayFillAbsent(d: usize, vpn: u64, pfn: u64, pcid: u32, flags: u32, tick: u64): usize {
  const policy = load<u32>(d + D_POLICY);
  if (policy == POLICY_LRU) return arrayFillAbsentLru(d, vpn, pfn, pcid, flags, tick);
  const set = <u32>vpn & load<u32>(d + D_SET_MASK);
  const ways = load<u32>(d + D_WAYS);
  const first = set * load<u32>(d + D_WAYS_PADDED);
  const stamps = <usize>load<u32>(d + D_STAMPS) + (<usize>first << STAMP_SHIFT);
  let way = oldestWay(stamps, ways);
  if (load<u32>(stamps + (<usize>way << STAMP_SHIFT)) != 0) {
    if (policy == POLICY_PLRU) way = plruVictim(d, set);
    else {
      let x = load<u32>(d + D_RNG);
      x ^= x << 13; x ^= x >> 17; x ^= x << 5;
      store<u32>(d + D_RNG, x);
      way = x % ways;
    }
  }
  return writeEntry(d, first + way, vpn, pfn, pcid, flags, tick);
}

/**
 * arrayFillAbsent for an array whose policy is known to be "lru" (inlined into the replay loop's
 * refill of L1 from the second level). @returns the entry written
 */
@inline export function arrayFillAbsentLru(d: usize, vpn: u64, pfn: u64, pcid: u32, flags: u32, tick: u64): usize {
  // Callers check the policy first.
  return fillLru(d, vpn, tagWord(vpn, pcid), (pfn & PFN_MASK) | (<u64>(flags | TLBF_VALID) << FLAGS_AT), pcid, tick);
}

/**
 * arrayFillAbsentLru of the translation another array's entry `src` holds for `vpn`, under PCID
 * tag `pcid`: its data word (pfn and flags) copied as it is — what arrayFillAbsentLru writes with
 * entryPfn(src) and entryFlags(src), in fewer instructions (the replay loop's refill of L1 from the
 * second level). Callers check that `d` is "lru" and holds `src`'s page size. @returns the entry written
 */
@inline export function arrayRefillLru(d: usize, vpn: u64, pcid: u32, src: usize, tick: u64): usize {
  return fillLru(d, vpn, tagWord(vpn, pcid), load<u64>(src + E_PFN), pcid, tick);
}

/**
 * The geometry of the issue #17 model (bench/model.bench.mjs), which the replay loop has a
 * specialised path for (replay/loop.ts hitShape): an L1 data array of 16 sets × 4 ways and a
 * second level of 128 sets × 12 ways, each laid out by arraySetup (keys, entries and stamps back
 * to back, no padding ways).
 */
@inline export const MODEL_L1_SETS: u32 = 16;
@inline export const MODEL_L1_WAYS: u32 = 4;
@inline export const MODEL_L2_SETS: u32 = 128;
@inline export const MODEL_L2_WAYS: u32 = 12;

/**
 * arrayFillAbsentLru of one translation into two arrays — second level `d2`, then L1 `d1`, both
 * "lru" and holding it absent — with the tag and data words built once (a walk's fill of both).
 * `shaped`: the arrays have the model's geometry (MODEL_*; the caller checked it, replay/loop.ts
 * hitShape), so sets, ways and the array layout are literals: the victims unroll and the only
 * descriptor field read is each array's key base. The same entries, stamps, tags and splinter
 * counts as the two arrayFillAbsentLru calls.
 */
@inline export function arrayFillPairLru(d2: usize, d1: usize, vpn: u64, pfn: u64, pcid: u32, flags: u32, tick: u64, shaped: bool): void {
  const tag = tagWord(vpn, pcid);
  const data = (pfn & PFN_MASK) | (<u64>(flags | TLBF_VALID) << FLAGS_AT);
  if (shaped) {
    fillShaped(d2, vpn, tag, data, pcid, tick, MODEL_L2_SETS, MODEL_L2_WAYS);
    fillShaped(d1, vpn, tag, data, pcid, tick, MODEL_L1_SETS, MODEL_L1_WAYS);
    return;
  }
  fillLru(d2, vpn, tag, data, pcid, tick);
  fillLru(d1, vpn, tag, data, pcid, tick);
}

/** arrayFillPairLru's fill of one array of `sets` × `ways` (literals) in arraySetup's layout. */
@inline function fillShaped(d: usize, vpn: u64, tag: u64, data: u64, pcid: u32, tick: u64, sets: u32, ways: u32): void {
  placeShaped(d, vpn, tag, data, pcid, tick, sets, ways, victimShaped(<usize>load<u32>(d + D_KEYS), vpn, sets, ways));
}

/**
 * The way fillShaped fills for `vpn` in an array of `sets` × `ways` (literals) whose keys start at
 * `keys` (arraySetup's layout): the least recently used of its set, an invalid one first. A
 * function of the set's stamps alone, so a caller may take it before the walk whose translation
 * goes there (replay/miss.ts missRun: the stamp line's load then overlaps the walk's) as long as
 * nothing touches the array in between. @returns the entry's index
 */
@inline export function victimShaped(keys: usize, vpn: u64, sets: u32, ways: u32): u32 {
  const stamps = keys + (<usize>(sets * ways) << 2) + (<usize>(sets * ways) << ENTRY_SHIFT);
  const first = (<u32>vpn & (sets - 1)) * ways;
  return first + oldestWay(stamps + (<usize>first << STAMP_SHIFT), ways);
}

/**
 * fillShaped's writes of entry `index` (victimShaped's) of `d`: its tag noted and a splinter
 * counted, key, words and stamp. With `noted` (arrayFillPairAt's caller, replay/miss.ts missRun)
 * neither: the caller knows `d` holds only entries tagged `pcid` and is claimed for it, and adds
 * the run's splinters to D_SPLINTERS itself before anything may read them.
 */
@inline function placeShaped(d: usize, vpn: u64, tag: u64, data: u64, pcid: u32, tick: u64, sets: u32, ways: u32, index: u32, noted: bool = false): void {
  const keys = <usize>load<u32>(d + D_KEYS);
  const ents = keys + (<usize>(sets * ways) << 2);
  const stamps = ents + (<usize>(sets * ways) << ENTRY_SHIFT);
  if (!noted) noteTag(d, pcid);
  entryPlace(d, keys, ents, stamps, index, <u32>(vpn >> <u64>ctz(sets)), tag, data, tick, !noted);
}

/**
 * arrayFillPairLru with `shaped`, into the ways the caller took beforehand (victimShaped: `x2` of
 * the second level `d2`, `x1` of L1 `d1`, neither array touched since), both arrays claimed for
 * `pcid` and holding only its entries (arrayOneTag == pcid, as replay/loop.ts hitLoop keeps them
 * for missRun), so that no fill notes its tag: the same writes.
 */
@inline export function arrayFillPairAt(d2: usize, d1: usize, vpn: u64, pfn: u64, pcid: u32, flags: u32, tick: u64, x2: u32, x1: u32): void {
  const tag = tagWord(vpn, pcid);
  const data = (pfn & PFN_MASK) | (<u64>(flags | TLBF_VALID) << FLAGS_AT);
  placeShaped(d2, vpn, tag, data, pcid, tick, MODEL_L2_SETS, MODEL_L2_WAYS, x2, true);
  placeShaped(d1, vpn, tag, data, pcid, tick, MODEL_L1_SETS, MODEL_L1_WAYS, x1, true);
}

/**
 * The LRU fill of an "lru" array of any geometry: tag word `tag` and data word `data` into the
 * least recently used way of vpn's set (an invalid one first). arrayFillAbsentLru, arrayRefillLru
 * and arrayFillPairLru's unshaped fills. @returns the entry written
 */
@inline function fillLru(d: usize, vpn: u64, tag: u64, data: u64, pcid: u32, tick: u64): usize {
  const first = (<u32>vpn & load<u32>(d + D_SET_MASK)) * load<u32>(d + D_WAYS_PADDED);
  const stamps = <usize>load<u32>(d + D_STAMPS);
  const index = first + oldestWay(stamps + (<usize>first << STAMP_SHIFT), load<u32>(d + D_WAYS));
  noteTag(d, pcid);
  return entryPlace(d, <usize>load<u32>(d + D_KEYS), <usize>load<u32>(d + D_ENTRIES), stamps, index, keyOf(d, vpn), tag, data, tick);
}

/** Invalidate entry `e` of array `d`. */
@inline export function arrayInvalidate(d: usize, e: usize): void {
  const index = (e - <usize>load<u32>(d + D_ENTRIES)) >> ENTRY_SHIFT;
  store<u32>(<usize>load<u32>(d + D_KEYS) + (index << 2), INVALID_KEY);
  store<u32>(<usize>load<u32>(d + D_STAMPS) + (index << STAMP_SHIFT), 0);
  store<u64>(e + E_PFN, 0);
}

/** PCID selector of arrayFlushWhere: every PCID. */
@inline export const ANY_PCID: u32 = 0xffff_ffff;

/**
 * Invalidate every entry associated with `pcid` (or any, ANY_PCID); global entries too only when
 * `withGlobal`. @returns entries invalidated
 */
export function arrayFlushWhere(d: usize, pcid: u32, withGlobal: bool): u32 {
  const n = <usize>load<u32>(d + D_SETS) * load<u32>(d + D_WAYS_PADDED);
  const entries = <usize>load<u32>(d + D_ENTRIES);
  let dropped: u32 = 0;
  for (let i: usize = 0; i < n; i++) {
    const e = entries + (i << ENTRY_SHIFT);
    const f = entryFlags(e);
    if ((f & TLBF_VALID) == 0) continue;
    if ((f & RIGHT_GLOBAL) != 0 ? !withGlobal : (pcid != ANY_PCID && entryPcid(e) != pcid)) continue;
    arrayInvalidate(d, e);
    dropped++;
  }
  if (pcid == ANY_PCID && withGlobal) { store<u32>(d + D_SPLINTERS, 0); store<u32>(d + D_ONE_TAG, TAG_NONE); }
  return dropped;
}

/**
 * Invalidate the entries that translate linear address `va` for `pcid` (and global ones when
 * `withGlobal`), at every page size the array holds, including splinters of a larger page that
 * contains `va` (SDM §4.10.4.2: INVLPG of any address in a large page drops all its entries).
 * @returns entries invalidated
 */
export function arrayFlushAddress(d: usize, va: u64, pcid: u32, withGlobal: bool): u32 {
  let dropped: u32 = 0;
  const sizes = load<u32>(d + D_SIZES);
  const wp = load<u32>(d + D_WAYS_PADDED);
  const entries = <usize>load<u32>(d + D_ENTRIES);
  for (let s: u32 = 0; s < 3; s++) {
    if ((sizes & (1 << s)) == 0) continue;
    const vpn = va >> sizeShift(s);
    const first = <usize>((<u32>vpn & load<u32>(d + D_SET_MASK)) * wp);
    // Only ways whose tag key matches can hold vpn: one SIMD compare per four ways finds them
    // (a #PF flushes its address in every array, so this runs once per fault of a replay).
    const keys = <usize>load<u32>(d + D_KEYS) + (first << 2);
    const kv = i32x4.splat(<i32>keyOf(d, vpn));
    for (let g: u32 = 0; g < wp; g += 4) {
      let hits = <u32>i32x4.bitmask(i32x4.eq(v128.load(keys + (<usize>g << 2)), kv));
      while (hits != 0) {
        const e = entries + ((first + g + ctz(hits)) << ENTRY_SHIFT);
        hits &= hits - 1;
        const f = entryFlags(e);
        if ((f & TLBF_VALID) == 0 || ((load<u64>(e + E_VPN) ^ vpn) & VPN_MASK) != 0 || ((f >> TLBF_SIZE_SHIFT) & 3) != s) continue;
        if ((f & RIGHT_GLOBAL) != 0 ? !withGlobal : (pcid != ANY_PCID && entryPcid(e) != pcid)) continue;
        arrayInvalidate(d, e);
        dropped++;
      }
    }
  }
  if (load<u32>(d + D_SPLINTERS) != 0) {
    const n = <usize>load<u32>(d + D_SETS) * wp;
    for (let i: usize = 0; i < n; i++) {
      const e = entries + (i << ENTRY_SHIFT);
      const f = entryFlags(e);
      if ((f & TLBF_VALID) == 0) continue;
      const origin = (f >> TLBF_ORIGIN_SHIFT) & 3;
      const size = (f >> TLBF_SIZE_SHIFT) & 3;
      if (origin == size) continue;
      if ((f & RIGHT_GLOBAL) != 0 ? !withGlobal : (pcid != ANY_PCID && entryPcid(e) != pcid)) continue;
      const shiftDiff = sizeShift(origin) - sizeShift(size);
      if ((entryVpn(e) >> shiftDiff) == (va >> sizeShift(origin))) { arrayInvalidate(d, e); dropped++; }
    }
  }
  return dropped;
}

/**
 * Whether arrayFlushAddress(d, va, …) could drop an entry: a way of va's set with va's tag key at
 * a page size the array holds, or a splinter anywhere. False is exact (that flush drops nothing),
 * so a caller that flushes an address in every array on each fault can skip the arrays without
 * one; true only means "flush to find out".
 */
@inline export function arrayMayDrop(d: usize, va: u64): bool {
  if (load<u32>(d + D_SPLINTERS) != 0) return true;
  const sizes = load<u32>(d + D_SIZES);
  const wp = load<u32>(d + D_WAYS_PADDED);
  for (let s: u32 = 0; s < 3; s++) {
    if ((sizes & (1 << s)) == 0) continue;
    const vpn = va >> sizeShift(s);
    const keys = <usize>load<u32>(d + D_KEYS) + (<usize>((<u32>vpn & load<u32>(d + D_SET_MASK)) * wp) << 2);
    const kv = i32x4.splat(<i32>keyOf(d, vpn));
    for (let g: u32 = 0; g < wp; g += 4) {
      if (i32x4.bitmask(i32x4.eq(v128.load(keys + (<usize>g << 2)), kv)) != 0) return true;
    }
  }
  return false;
}
