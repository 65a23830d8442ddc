// The data-cache hierarchy the page walker's references (and, when asked, the trace's data
// accesses) go through: a private L1D and L2 per CPU, one LLC shared by all CPUs, memory beyond.
// Each level is sets × ways of 64-byte lines with its replacement policy and hit latency from the
// preset; a lookup by physical address returns where the line was found and fills the levels
// above, so the cost of a walk reference depends on where its paging-structure line sits.
//
// Owns: the hierarchy's configuration (from the configuration block), its storage (one region
// reserved at init, only when the preset has caches), the mode (off, walks, all) and the
// hierarchy's clocks. It does not own the counters (stats/counters.ts) nor decide what an access
// costs beyond the latency it returns: mmu/walk.ts and mmu/access.ts charge it.
//
//   Configuration block words CFG_CACHE… (mmu/tlb.ts): mode, then per level L1D, L2, LLC:
//   sets, ways, latency, policy; then memory latency, LLC inclusion. sets 0: no hierarchy.
//
//   Level descriptor (LV_SIZE bytes, one per level and CPU; the LLC's is shared):
//   +0 sets u32   +4 ways u32   +8 setMask u32 (sets-1; 0xffffffff: sets not a power of two,
//   index hashed)   +12 latency u32   +16 policy u32   +20 narrow u32 (1: u16 tags)
//   +24 sets u32 ptr   +28 set stride u32 (bytes per set record)
//
//   Set record (one per set, contiguous, 64-aligned, so a lookup touches one place in the host's
//   memory, one host line where the record fits in 64 bytes; mmu/cacheset.ts searches, touches,
//   and fills one):
//   +0 ways × u32 tags (line address + 1; 0 when empty, so fresh memory is an empty cache),
//   padded to 16 bytes; then (metaOff(ways)) LRU: ways × u8 ranks padded to 16 (0 = most
//   recently used … ways − 1 = least); PLRU: one u64 of tree bits (padded to 16). The whole is
//   rounded up to 64 bytes (setStride): 8 ways 48 → 64 B, 12 ways 64 B (one host line each),
//   15–16 ways 80 → 128 B, 20–24 ways 112 → 128 B. A u32 tag holds the line + 1 of every
//   address below 2^38 − 64 (256 GiB), so of all of RAM on every full-mode machine (RAM lives in
//   Wasm linear memory, < 4 GiB) and on tables-only machines up to 256 GiB; a reference above
//   that (to no memory: beyond RAM) goes to memory and fills nothing (lineLimit) rather than
//   alias a line whose tag has the same low 32 bits. Tables-only machines with more RAM keep
//   u64 tags (wideTags: tags at +0, 8 bytes each, the rest as above; about 1.3× the bytes).
//   u16 tags (narrowFor): an L2 or LLC whose sets are a power of two needs only the line's bits
//   above the set index; when those of RAM's highest line, + 1, fit 16 bits (every such level of
//   the presets on ≤ 4 GiB of RAM: 2^26 lines, ≥ 1024 sets), its tags are u16 keys
//   (line >> log2 sets) + 1 (0 empty), eight per compare, and a 16-way set is 32 + 16 → 64 bytes,
//   one host line (zen4's and skylake's LLC, golden-cove's L2). A victim's line is its key's bits
//   put back above its set index. Exact, because no reference beyond RAM is cached (lineLimit:
//   nothing there; it goes to memory and fills nothing), so every key of RAM is distinct within
//   its set. A hashed LLC (sets not a power of two: golden-cove's 114,688) of ≥ 65,538 sets that
//   is not inclusive takes u16 keys too, hashKey's (mmu/cacheset.ts: its hash mod 65,535, + 1),
//   on RAM below HASH_DISTINCT_BELOW lines (177 GiB): a set's hashes are fewer than 65,536
//   consecutive integers and every line of such RAM has its own hash, so keys are distinct within
//   a set. Such a key cannot give its line back, which only an inclusive LLC's back-invalidation
//   needs (a victim's line); NINE and exclusive LLCs drop their victims.
//
// Speed (bench/RESULTS.md, issue #16: a replay with caches on at ≥ 50 % of caches off): each
// level's geometry is copied into globals at setup (g1…, g2…, g3…) so a lookup reads no
// descriptor but the CPU's set base; the L1D hit is the short path, before any call; the tag
// search compares up to 16 u32 tags with four independent SIMD compares and no loop; an L1D miss
// computes each level's set once and the fills reuse it; an LRU touch is one i8x16 compare and
// subtract over the ranks (up to 16 ways; groups of 16 beyond; nothing when the way is already
// the most recent), the LRU victim the way whose rank is ways − 1 (one i8x16 compare), the PLRU
// touch two precomputed masks per way and an 8-way PLRU victim a table lookup. Every L1D of the
// presets and their L2s up to 8 ways (skylake, zen4) take one host line per set, and so do
// their 16-way L2s and LLCs with u16 tags, golden-cove's 15-way hashed LLC included (7 MiB of
// records, was 14 with u32 tags; bench/RESULTS.md, "Set records in one host line", "Issue #16
// caches-on speed" and its s5 section). The replay's
// look-ahead (cacheTouchAhead, mmu/cacheahead.ts) reads the LLC records of the next walks' PTE lines, so that a run
// of walks waits for them together rather than one walk at a time.
// The presets' geometries (zen4, golden-cove, skylake: shapeOf) run below L1D, in the L1D search
// and in the look-ahead with their ways, policies, tag widths, 64-byte strides and inclusion as
// literals (belowL1, lookupL1 called with constants, zen4Ahead: the searches, victims and
// touches unroll, no branch on the geometry); any other geometry runs the same code over the
// globals (test/core/cache-shape: the two answer alike; bench/RESULTS.md, "second pass").
// The answers are the first implementation's, reference for reference (test/core/cache-equiv).
//
// Policies. Inclusion between L1D and L2 is NINE (non-inclusive, non-exclusive): a miss fills every
// level it passed, and an eviction from one level leaves the others alone. The LLC is, per preset:
// NINE (Intel since Skylake-SP), inclusive (Intel client through Skylake: an LLC eviction
// back-invalidates the line in every CPU's L1D and L2), or exclusive (AMD Zen's L3, a victim cache
// of the L2s: memory fills skip it, L2 victims go into it, an LLC hit moves the line up to L2).
// Writes (A/D updates, stores) allocate like reads; dirty lines and write-backs cost nothing
// here, and there is no coherence between CPUs' private caches (a line written on one CPU stays
// valid in another's L1D): the model is of latency seen by loads, not of the memory system.
// Replacement: "lru" (exact: each way's rank in the set's recency order) or "plru" (tree
// pseudo-LRU, power-of-two ways ≤ 64). An invalid way is always filled first (the lowest one).
// LRU ranks: the valid ways of a set hold the ranks 0 … k − 1 (k valid ways), most recent first;
// an invalid way's rank is meaningless (≤ ways, never read). A use of the way at rank r moves
// every rank < r down by one and gives it 0; a fill of an invalid way counts as r = ways (every
// valid way ages); a removal at rank r moves every rank > r up by one, so the valid ways' ranks
// stay 0 … k − 1 and with every way valid the least recent is the one at rank ways − 1. This is
// the order the first implementation's per-level clock stamps gave (test/core/cache-equiv).

import { count, Counter } from "../stats/counters";
import { plruTouchBits } from "./plru";
import {
  LINE_INVALID, NO_MASK, wideTags, cacheSetSetup, metaOff, shiftOf, setStride, setIndex, matchWays, tagOf, setTag, waysValid,
  touchWay, rankRemove, victimOf, fillSet, hashKey, hashedNarrow,
} from "./cacheset";
import { aheadL2, belowL1Since } from "./cacheahead";
// The replay's look-ahead of set records (replay/miss.ts calls it through this module).
export { cacheTouchAhead } from "./cacheahead";

@inline export const CACHE_OFF: u32 = 0;
@inline export const CACHE_WALKS: u32 = 1;
@inline export const CACHE_ALL: u32 = 2;
@inline export const INCL_NINE: u32 = 0;
@inline export const INCL_INCLUSIVE: u32 = 1;
@inline export const INCL_EXCLUSIVE: u32 = 2;
@inline export const CPOL_LRU: u32 = 0;
@inline export const CPOL_PLRU: u32 = 1;
/** Where a lookup found its line: the level (1 L1D, 2 L2, 3 LLC) or memory. */
@inline export const HIT_L1: u32 = 1;
@inline export const HIT_L2: u32 = 2;
@inline export const HIT_LLC: u32 = 3;
@inline export const HIT_MEMORY: u32 = 4;
@inline export const LINE_SHIFT: u32 = 6;
@inline export const CACHE_CFG_WORDS: u32 = 15;
/** The configuration words, from CFG_CACHE: mode, l1 sets/ways/lat/policy, l2 ×4, llc ×4, memory latency, inclusion. */
@inline export const CC_MODE: u32 = 0;
@inline export const CC_L1: u32 = 1;
@inline export const CC_L2: u32 = 5;
@inline export const CC_LLC: u32 = 9;
@inline export const CC_MEMORY: u32 = 13;
@inline export const CC_INCLUSION: u32 = 14;

@inline const LV_SIZE: usize = 32;
@inline const LV_SETS: usize = 0;
@inline const LV_WAYS: usize = 4;
@inline const LV_MASK: usize = 8;
@inline const LV_LAT: usize = 12;
@inline const LV_POLICY: usize = 16;
@inline const LV_NARROW: usize = 20;
@inline const LV_LINES: usize = 24;
@inline const LV_STRIDE: usize = 28;

/** Walk references go through the hierarchy (mode walks or all). */
export let cacheWalks: bool = false;
/** Data accesses of the replay go through it too (mode all). */
export let cacheData: bool = false;
/** Latency of a reference that misses every level. */
export let memoryLatency: u32 = 0;
export let inclusion: u32 = INCL_NINE;
let configured: bool = false;
let nCpus: u32 = 0;
/** Descriptors: [cpu × 2 + 0] L1D, [cpu × 2 + 1] L2, [2 × cpus] the LLC. */
let lvBase: usize = 0;
// Copies of the descriptors' geometry, per level (1 L1D, 2 L2, 3 LLC), for the lookup.
let g1Ways: u32 = 0, g1Mask: u32 = 0, g1Sets: u32 = 0, g1Stride: u32 = 0, g1Policy: u32 = 0;
export let g2Ways: u32 = 0, g2Mask: u32 = 0, g2Sets: u32 = 0, g2Stride: u32 = 0, g2Policy: u32 = 0;
export let g3Ways: u32 = 0, g3Mask: u32 = 0, g3Sets: u32 = 0, g3Stride: u32 = 0, g3Policy: u32 = 0;
export let llcLines: usize = 0;
/** L2 and LLC: u16 tags (narrowFor), and log2 of the sets (the index bits the tag leaves out). */
export let g2Narrow: bool = false, g3Narrow: bool = false;
/** The LLC's u16 tags are hashKey's (its index is hashed; narrowFor), not the bits above its index. */
let g3Hashed: bool = false;
export let g2Bits: u32 = 0, g3Bits: u32 = 0;
/** Offset of the LLC's ranks or tree bits in its set records (cacheTouchAhead). */
export let g3Meta: usize = 0;
/** The highest line address + 1 cached: RAM's last line (beyond it no memory, nothing cached; and u16 and u32 tags need no more). */
let lineLimit: u64 = 0xffff_ffff;
let g1Valid: u64 = 0, g2Valid: u64 = 0, g3Valid: u64 = 0;
/**
 * Per level, for PLRU: for each way (≤ 64) the masks of a touch, [keep u64, set u64]: the tree
 * bits after a use of the way are (bits & keep) | set (plruTouchBits of all ones and of zero).
 */
const plruTables: usize = memory.data(3 * 64 * 16, 16);
const g1Plru: usize = plruTables, g2Plru: usize = plruTables + 1024, g3Plru: usize = plruTables + 2048;
/** Latency by where a line was found: [HIT_L1 … HIT_MEMORY] (u32 each; [0] unused). */
const latencyByWhere: usize = memory.data(32, 16);

function levelValid(sets: u32, ways: u32, policy: u32): bool {
  if (sets == 0 || ways == 0 || ways > 64 || sets > (1 << 24) || policy > CPOL_PLRU) return false;
  return policy != CPOL_PLRU || (ways & (ways - 1)) == 0;
}

/**
 * Whether a machine of `ramBytes` of RAM needs u64 tags: some line of its RAM has a line address
 * + 1 above 2^32 − 1 (RAM above 256 GiB − 64: tables-only machines only).
 */
@inline function wideFor(ramBytes: u64): bool {
  return ramBytes != 0 && ((ramBytes - 1) >> LINE_SHIFT) + 1 > 0xffff_ffff;
}

/**
 * Whether level `l` (0 L1D, 1 L2, 2 LLC) of `sets` sets keeps u16 tags on a machine of
 * `ramBytes` of RAM whose LLC has inclusion `inclusion_`: its sets are a power of two (the set
 * index is the line's low bits, so the tag need only hold the bits above them) and the highest
 * line of RAM's bits above the index, + 1, fit 16 bits; or it is a hashed LLC that hashKey keys
 * exactly (cacheset.ts hashedNarrow) and not an inclusive one. Not the L1D: its records are one
 * host line already (and its hit path stays as it is).
 */
function narrowFor(l: u32, sets: u32, ramBytes: u64, inclusion_: u32): bool {
  if (l == 0 || ramBytes == 0) return false;
  const top = ((ramBytes - 1) >> LINE_SHIFT) + 1;
  // A hashed LLC (sets not a power of two): hashKey, where exact; never an inclusive one, whose
  // back-invalidation needs the victim's line, which a hashed key cannot give back.
  if ((sets & (sets - 1)) != 0) return l == 2 && inclusion_ != INCL_INCLUSIVE && hashedNarrow(sets, top);
  return (top >> ctz(sets)) + 1 <= 0xffff;
}

@inline function levelBytes(sets: u32, ways: u32, policy: u32, shift: u32): u64 {
  return <u64>sets * setStride(ways, policy, shift) + 128;
}

/**
 * Check the configuration words at `cfg` (u32 each). @returns 0, or 1 + the index of the first
 * bad level (1 L1D, 2 L2, 3 LLC), 4 for a bad mode or inclusion
 */
export function cacheConfigCheck(cfg: usize): u32 {
  const mode = load<u32>(cfg + (CC_MODE << 2));
  const l1Sets = load<u32>(cfg + (CC_L1 << 2));
  if (l1Sets == 0) return mode == CACHE_OFF ? 0 : 4;   // no hierarchy: only "off" makes sense
  if (mode > CACHE_ALL || load<u32>(cfg + (CC_INCLUSION << 2)) > INCL_EXCLUSIVE) return 4;
  for (let l: u32 = 0; l < 3; l++) {
    const w = cfg + (<usize>(CC_L1 + 4 * l) << 2);
    if (!levelValid(load<u32>(w), load<u32>(w, 4), load<u32>(w, 12))) return 1 + l;
  }
  return 0;
}

/** Bytes the hierarchy needs for `cpus` CPUs on `ramBytes` of RAM (0 without one). Call after cacheConfigCheck() == 0. */
export function cacheBytes(cfg: usize, cpus: u32, ramBytes: u64): u64 {
  if (load<u32>(cfg + (CC_L1 << 2)) == 0) return 0;
  const shift: u32 = wideFor(ramBytes) ? 3 : 2;
  let bytes: u64 = <u64>(2 * cpus + 1) * LV_SIZE + 64;
  for (let l: u32 = 0; l < 3; l++) {
    const w = cfg + (<usize>(CC_L1 + 4 * l) << 2);
    const b = levelBytes(load<u32>(w), load<u32>(w, 4), load<u32>(w, 12), narrowFor(l, load<u32>(w), ramBytes, load<u32>(cfg + (CC_INCLUSION << 2))) ? 1 : shift);
    bytes += l == 2 ? b : b * cpus;
  }
  return bytes;
}

/** Lay the hierarchy out from `base` (cacheBytes bytes for `ramBytes`) and empty it; base 0: no hierarchy. */
export function cacheSetup(cfg: usize, base: usize, cpus: u32, ramBytes: u64): void {
  configured = base != 0 && load<u32>(cfg + (CC_L1 << 2)) != 0;
  cacheSetSetup(wideFor(ramBytes));
  // No memory beyond RAM: a reference there is not cached (and so needs no tag).
  lineLimit = wideTags ? 0xffff_ffff_ffff_ffff : 0xffff_ffff;
  if (ramBytes != 0) lineLimit = min<u64>(lineLimit, ((ramBytes - 1) >> LINE_SHIFT) + 1);
  nCpus = cpus;
  lvBase = (base + 63) & ~63;
  cacheWalks = false; cacheData = false;
  belowShape = SHAPE_ANY;
  if (!configured) return;
  memoryLatency = load<u32>(cfg + (CC_MEMORY << 2));
  inclusion = load<u32>(cfg + (CC_INCLUSION << 2));
  let mem = lvBase + <usize>(2 * cpus + 1) * LV_SIZE;
  for (let i: u32 = 0; i < 2 * cpus + 1; i++) {
    const l: u32 = i == 2 * cpus ? 2 : i & 1;
    const w = cfg + (<usize>(CC_L1 + 4 * l) << 2);
    const sets = load<u32>(w), ways = load<u32>(w, 4), policy = load<u32>(w, 12);
    const d = lvBase + <usize>i * LV_SIZE;
    store<u32>(d + LV_SETS, sets);
    store<u32>(d + LV_WAYS, ways);
    store<u32>(d + LV_MASK, (sets & (sets - 1)) == 0 ? sets - 1 : NO_MASK);
    store<u32>(d + LV_LAT, load<u32>(w, 8));
    store<u32>(d + LV_POLICY, policy);
    const narrow = narrowFor(l, sets, ramBytes, inclusion);
    store<u32>(d + LV_NARROW, narrow ? 1 : 0);
    mem = (mem + 63) & ~63;
    store<u32>(d + LV_LINES, <u32>mem);
    store<u32>(d + LV_STRIDE, setStride(ways, policy, shiftOf(narrow)));
    mem += <usize>sets * setStride(ways, policy, shiftOf(narrow)) + 64;   // + the searches' reads past the last set
  }
  // The geometry of each level (the same for every CPU's L1D and L2), copied where the lookup
  // reads it without going through a descriptor.
  const l1 = l1Desc(0), l2 = l2Desc(0), llc = llcDesc();
  g1Ways = load<u32>(l1 + LV_WAYS); g1Mask = load<u32>(l1 + LV_MASK); g1Sets = load<u32>(l1 + LV_SETS);
  g1Stride = load<u32>(l1 + LV_STRIDE); g1Policy = load<u32>(l1 + LV_POLICY);
  g2Ways = load<u32>(l2 + LV_WAYS); g2Mask = load<u32>(l2 + LV_MASK); g2Sets = load<u32>(l2 + LV_SETS);
  g2Stride = load<u32>(l2 + LV_STRIDE); g2Policy = load<u32>(l2 + LV_POLICY);
  g3Ways = load<u32>(llc + LV_WAYS); g3Mask = load<u32>(llc + LV_MASK); g3Sets = load<u32>(llc + LV_SETS);
  g3Stride = load<u32>(llc + LV_STRIDE); g3Policy = load<u32>(llc + LV_POLICY);
  llcLines = linesOf(llc);
  g2Narrow = load<u32>(l2 + LV_NARROW) != 0; g2Bits = <u32>ctz(g2Sets);
  g3Narrow = load<u32>(llc + LV_NARROW) != 0; g3Bits = <u32>ctz(g3Sets);
  g3Hashed = g3Narrow && g3Mask == NO_MASK;
  g3Meta = metaOff(g3Ways, shiftOf(g3Narrow));
  aheadL2 = linesOf(l2);
  belowShape = shapeOf();
  g1Valid = waysValid(g1Ways); g2Valid = waysValid(g2Ways); g3Valid = waysValid(g3Ways);
  for (let l: u32 = 0; l < 3; l++) {
    const ways = l == 0 ? g1Ways : l == 1 ? g2Ways : g3Ways;
    if ((l == 0 ? g1Policy : l == 1 ? g2Policy : g3Policy) != CPOL_PLRU) continue;
    for (let w: u32 = 0; w < ways; w++) {
      const t = plruTables + <usize>l * 1024 + (<usize>w << 4);
      store<u64>(t, plruTouchBits(0xffff_ffff_ffff_ffff, ways, w));
      store<u64>(t, plruTouchBits(0, ways, w), 8);
    }
  }
  store<u32>(latencyByWhere + (<usize>HIT_L1 << 2), load<u32>(l1 + LV_LAT));
  store<u32>(latencyByWhere + (<usize>HIT_L2 << 2), load<u32>(l2 + LV_LAT));
  store<u32>(latencyByWhere + (<usize>HIT_LLC << 2), load<u32>(llc + LV_LAT));
  store<u32>(latencyByWhere + (<usize>HIT_MEMORY << 2), memoryLatency);
  // Fresh linear memory is zero: every line empty (cacheFlushAll empties it later).
  cacheSetMode(load<u32>(cfg + (CC_MODE << 2)));
}

/** Set the mode (CACHE_OFF, CACHE_WALKS, CACHE_ALL); without a hierarchy it stays off. @returns the mode in force */
export function cacheSetMode(mode: u32): u32 {
  if (!configured || mode > CACHE_ALL) mode = CACHE_OFF;
  cacheWalks = mode != CACHE_OFF;
  cacheData = mode == CACHE_ALL;
  return mode;
}

/** The mode in force. */
export function cacheMode(): u32 {
  return cacheData ? CACHE_ALL : cacheWalks ? CACHE_WALKS : CACHE_OFF;
}

/** Whether the machine has a hierarchy (its preset defines one). */
export function cacheConfigured(): bool {
  return configured;
}

/** Empty every level of every CPU (tags, ranks, tree bits). */
export function cacheFlushAll(): void {
  if (!configured) return;
  for (let i: u32 = 0; i < 2 * nCpus + 1; i++) {
    const d = lvBase + <usize>i * LV_SIZE;
    memory.fill(load<u32>(d + LV_LINES), 0, <usize>load<u32>(d + LV_SETS) * load<u32>(d + LV_STRIDE));
  }
}

@inline function l1Desc(cpu: u32): usize { return lvBase + <usize>(cpu * 2) * LV_SIZE; }
@inline function l2Desc(cpu: u32): usize { return lvBase + <usize>(cpu * 2 + 1) * LV_SIZE; }
@inline function llcDesc(): usize { return lvBase + <usize>(nCpus * 2) * LV_SIZE; }
@inline function linesOf(d: usize): usize { return <usize>load<u32>(d + LV_LINES); }

/** Hit latency of a level (1 L1D, 2 L2, 3 LLC; 4 memory). */
export function cacheLatency(level: u32): u32 {
  if (!configured || level < HIT_L1 || level > HIT_MEMORY) return 0;
  return load<u32>(latencyByWhere + (<usize>level << 2));
}

/** The set record of `line` in level `d` (cold paths: the geometry from the descriptor). */
@inline function recOf(d: usize, line: u64): usize {
  return linesOf(d) + <usize>setIndex(line, load<u32>(d + LV_MASK), load<u32>(d + LV_SETS)) * <usize>load<u32>(d + LV_STRIDE);
}

/** Drop `line` from level `d` if present (the geometry from the descriptor). */
function remove(d: usize, line: u64): void {
  const ways = load<u32>(d + LV_WAYS);
  dropFrom(recOf(d, line), ways, waysValid(ways), load<u32>(d + LV_POLICY), keyOf(d, line), load<u32>(d + LV_NARROW) != 0);
}

/**
 * Drop the way of set record `rec` (`ways` ways, `valid` their mask, `policy`) whose tag is `key`,
 * if any: remove's body, inlined with a shape's literals where the shape is known (belowL1's
 * back-invalidation), so that the search unrolls and no descriptor is read.
 */
@inline function dropFrom(rec: usize, ways: u32, valid: u64, policy: u32, key: u64, narrow: bool, u32Tags: bool = false): void {
  const hit = matchWays(rec, ways, valid, key, narrow, u32Tags);
  if (hit == 0) return;
  const way = <u32>ctz(hit);
  setTag(rec, way, LINE_INVALID, narrow, u32Tags);
  if (policy == CPOL_LRU) rankRemove(rec, ways, way, narrow);
}

/** The tag of `line` in level `d`: the line, or in a level with u16 tags its bits above the set index + 1. */
@inline function keyOf(d: usize, line: u64): u64 {
  if (load<u32>(d + LV_NARROW) == 0) return line;
  return load<u32>(d + LV_MASK) == NO_MASK ? hashKey(line) : (line >> ctz(load<u32>(d + LV_SETS))) + 1;
}

/** The LLC's tag of `line`: keyOf for the LLC, whose u16 tags (`narrow`) may be hashKey's (`hashed`). */
@inline function llcKey(line: u64, narrow: bool, hashed: bool): u64 {
  return narrow ? (hashed ? hashKey(line) : (line >> g3Bits) + 1) : line;
}

/** The set record of `line` in the LLC. */
@inline export function llcRec(line: u64): usize {
  return llcLines + <usize>setIndex(line, g3Mask, g3Sets) * <usize>g3Stride;
}

/**
 * One reference of CPU `cpu` to physical address `pa`: look it up level by level, fill the levels
 * above where it was found (per the inclusion policy). Called only with a hierarchy configured.
 * The L1D hit — most walk references (the upper levels' lines) — is the short path; the rest is
 * the shape's belowZen4, belowGoldenCove, belowSkylake or belowAny.
 * @returns HIT_L1, HIT_L2, HIT_LLC or HIT_MEMORY
 */
@inline function lookup(cpu: u32, pa: u64): u32 {
  const line = (pa >> LINE_SHIFT) + 1;
  if (line > lineLimit) return HIT_MEMORY;   // beyond RAM: not cached (see lineLimit)
  const l1 = l1Desc(cpu);
  const shape = belowShape;
  if (shape == SHAPE_GOLDEN_COVE) return lookupL1(cpu, line, l1, 12, CPOL_LRU, SHAPE_GOLDEN_COVE);
  if (shape == SHAPE_ZEN4) return lookupL1(cpu, line, l1, 8, CPOL_PLRU, SHAPE_ZEN4);
  if (shape == SHAPE_SKYLAKE) return lookupL1(cpu, line, l1, 8, CPOL_PLRU, SHAPE_SKYLAKE);
  return lookupL1(cpu, line, l1, g1Ways, g1Policy, SHAPE_ANY);
}

/** lookup's L1D search and touch in L1D `l1` of `w1` ways under policy `p1` (literals when `shaped`: see belowL1). */
@inline function lookupL1(cpu: u32, line: u64, l1: usize, w1: u32, p1: u32, shape: u32): u32 {
  const shaped = shape != SHAPE_ANY;
  const rec = linesOf(l1) + (shaped ? <usize>(<u32>line & g1Mask) << 6 : <usize>setIndex(line, g1Mask, g1Sets) * <usize>g1Stride);
  const hit = matchWays(rec, w1, waysValid(w1), line, false, shaped);
  let where = HIT_L1;
  if (hit != 0) touchWay(rec, w1, p1, g1Plru, <u32>ctz(hit), false, shaped);
  else where = shape == SHAPE_ZEN4 ? belowZen4(cpu, line, rec) : shape == SHAPE_GOLDEN_COVE ? belowGoldenCove(cpu, line, rec)
    : shape == SHAPE_SKYLAKE ? belowSkylake(cpu, line, rec) : belowAny(cpu, line, rec);
  return where;
}

/** lookup, out of line. */
export function cacheLookup(cpu: u32, pa: u64): u32 {
  return lookup(cpu, pa);
}

/** The lookup's shapes (belowShape, chosen at setup): the generic geometry from the globals, or a preset's as literals. */
@inline export const SHAPE_ANY: u32 = 0;
/** zen4 on ≤ 8 GiB: L1D 8-way PLRU; L2 8-way LRU, u16 tags; LLC 16-way LRU, u16 tags, exclusive. */
@inline export const SHAPE_ZEN4: u32 = 1;
/** golden-cove: L1D 12-way LRU; L2 16-way LRU, u16 tags; LLC 15-way LRU, hashed u16 keys, NINE. */
@inline export const SHAPE_GOLDEN_COVE: u32 = 2;
/** skylake: L1D 8-way PLRU; L2 4-way LRU, u16 tags; LLC 16-way LRU, u16 tags, inclusive. */
@inline export const SHAPE_SKYLAKE: u32 = 3;
export let belowShape: u32 = SHAPE_ANY;

/** The shape of the geometry in the globals (cacheSetup, after they are set): one of SHAPE_*. */
function shapeOf(): u32 {
  if (wideTags || g2Policy != CPOL_LRU || g3Policy != CPOL_LRU || !g2Narrow || !g3Narrow) return SHAPE_ANY;
  // Every set record of a shape is one host line, and L1D and L2 are indexed by the line's low bits.
  if (g1Stride != 64 || g2Stride != 64 || g3Stride != 64 || g1Mask == NO_MASK || g2Mask == NO_MASK) return SHAPE_ANY;
  if (g1Ways == 8 && g1Policy == CPOL_PLRU && g2Ways == 8 && g3Ways == 16 && !g3Hashed && inclusion == INCL_EXCLUSIVE) return SHAPE_ZEN4;
  if (g1Ways == 12 && g1Policy == CPOL_LRU && g2Ways == 16 && g3Ways == 15 && g3Hashed && inclusion == INCL_NINE) return SHAPE_GOLDEN_COVE;
  if (g1Ways == 8 && g1Policy == CPOL_PLRU && g2Ways == 4 && g3Ways == 16 && !g3Hashed && inclusion == INCL_INCLUSIVE) return SHAPE_SKYLAKE;
  return SHAPE_ANY;
}

/**
 * Which of the lookup's shapes is in force: 0 the generic code over the globals, 1 zen4's, 2
 * golden-cove's, 3 skylake's (SHAPE_*; cacheSetup chooses by the geometry). `generic`: run the
 * generic code whatever the geometry, until the next call or setup (tests compare the two).
 * @returns the shape now in force (0 without a hierarchy)
 */
export function cacheShapeUse(generic: bool): u32 {
  belowShape = configured && !generic ? shapeOf() : SHAPE_ANY;
  return belowShape;
}

/**
 * cacheLookup after an L1D miss of `line` (set record `rec1` of the L1D): L2, the LLC, memory;
 * then the fills. The presets' shapes get belowL1 with their geometry as literals (the searches,
 * touches and victims unroll; no branch on a policy, a tag width or the inclusion), each in its
 * own function (lookupL1 calls the shape's: a smaller body than one with all four inlined, and no
 * second dispatch), every other geometry the same code over the globals (belowAny).
 */
function belowZen4(cpu: u32, line: u64, rec1: usize): u32 {
  return belowL1(cpu, line, rec1, 8, CPOL_PLRU, 8, CPOL_LRU, true, 16, CPOL_LRU, true, false, INCL_EXCLUSIVE, true);
}
/** belowZen4's golden-cove. */
function belowGoldenCove(cpu: u32, line: u64, rec1: usize): u32 {
  return belowL1(cpu, line, rec1, 12, CPOL_LRU, 16, CPOL_LRU, true, 15, CPOL_LRU, true, true, INCL_NINE, true);
}
/** belowZen4's skylake. */
function belowSkylake(cpu: u32, line: u64, rec1: usize): u32 {
  return belowL1(cpu, line, rec1, 8, CPOL_PLRU, 4, CPOL_LRU, true, 16, CPOL_LRU, true, false, INCL_INCLUSIVE, true);
}
/** belowZen4 for any other geometry (the globals). */
function belowAny(cpu: u32, line: u64, rec1: usize): u32 {
  return belowL1(cpu, line, rec1, g1Ways, g1Policy, g2Ways, g2Policy, g2Narrow, g3Ways, g3Policy, g3Narrow, g3Hashed, inclusion, false);
}

/**
 * The lookup below L1D (belowZen4 …) for L1D ways and policy `w1`, `p1`, L2's `w2`, `p2`, `n2` (u16 tags), the LLC's
 * `w3`, `p3`, `n3`, `h3` (hashed keys) and inclusion `incl` (literals for a preset's shape, else
 * the globals; `shaped`: one of those, whose records are 64 bytes, whose L1D and L2 sets are a
 * power of two and whose tags are not u64). Levels with u16 tags are searched and filled with the line's key (its bits above
 * the set index, + 1); a victim's line is its key's bits put back above its set's.
 */
@inline function belowL1(cpu: u32, line: u64, rec1: usize, w1: u32, p1: u32, w2: u32, p2: u32, n2: bool,
  w3: u32, p3: u32, n3: bool, h3: bool, incl: u32, shaped: bool): u32 {
  const lines2 = linesOf(l2Desc(cpu));
  aheadL2 = lines2;
  belowL1Since++;
  const v1 = waysValid(w1), v2 = waysValid(w2), v3 = waysValid(w3);
  const s2 = shaped ? <u32>line & g2Mask : setIndex(line, g2Mask, g2Sets);
  const rec2 = lines2 + (shaped ? <usize>s2 << 6 : <usize>s2 * <usize>g2Stride);
  const k2 = n2 ? (line >> g2Bits) + 1 : line;
  const hit2 = matchWays(rec2, w2, v2, k2, n2);
  if (hit2 != 0) {
    touchWay(rec2, w2, p2, g2Plru, <u32>ctz(hit2), n2);
    fillSet(rec1, w1, v1, p1, g1Plru, line, false, shaped);
    return HIT_L2;
  }
  const s3 = shaped && !h3 ? <u32>line & g3Mask : setIndex(line, g3Mask, g3Sets);
  const rec3 = llcLines + (shaped ? <usize>s3 << 6 : <usize>s3 * <usize>g3Stride);
  const k3 = llcKey(line, n3, h3);
  const hit3 = matchWays(rec3, w3, v3, k3, n3);
  let where = HIT_MEMORY;
  if (hit3 != 0) {
    where = HIT_LLC;
    const way = <u32>ctz(hit3);
    if (incl != INCL_EXCLUSIVE) touchWay(rec3, w3, p3, g3Plru, way, n3);
    else {
      // The line moves up to L2: its way empties. A PLRU tree keeps the touch, as a lookup then a
      // removal leave it; LRU ranks end as a removal alone leaves them (a touch at rank r then a
      // removal at rank 0 raises the ranks below r and lowers them again, and lowers those above r).
      setTag(rec3, way, LINE_INVALID, n3);
      if (p3 == CPOL_LRU) rankRemove(rec3, w3, way, n3);
      else touchWay(rec3, w3, p3, g3Plru, way, n3);
    }
  } else if (incl != INCL_EXCLUSIVE) {
    // Fill the LLC from memory; an inclusive LLC's victim leaves every CPU's L1D and L2.
    const victim = fillSet(rec3, w3, v3, p3, g3Plru, k3, n3);
    if (incl == INCL_INCLUSIVE && victim != <u64>LINE_INVALID) {
      const v = n3 ? ((victim - 1) << g3Bits) | <u64>s3 : victim;   // never hashed (narrowFor)
      if (shaped) {
        // remove's work with the shape's literals: the searches unroll, no descriptor reads.
        const o1 = <usize>(<u32>v & g1Mask) << 6, o2 = <usize>(<u32>v & g2Mask) << 6, kv2 = (v >> g2Bits) + 1;
        for (let c: u32 = 0; c < nCpus; c++) {
          dropFrom(linesOf(l1Desc(c)) + o1, w1, v1, p1, v, false, true);
          dropFrom(linesOf(l2Desc(c)) + o2, w2, v2, p2, n2 ? kv2 : v, n2);
        }
      } else for (let c: u32 = 0; c < nCpus; c++) { remove(l1Desc(c), v); remove(l2Desc(c), v); }
    }
  }
  // Fill L2; with an exclusive LLC the L2's victim moves down into it.
  const victim2 = fillSet(rec2, w2, v2, p2, g2Plru, k2, n2);
  if (incl == INCL_EXCLUSIVE && victim2 != <u64>LINE_INVALID) {
    const v = n2 ? ((victim2 - 1) << g2Bits) | <u64>s2 : victim2;
    fillSet(shaped && !h3 ? llcLines + (<usize>(<u32>v & g3Mask) << 6) : llcRec(v), w3, v3, p3, g3Plru, llcKey(v, n3, h3), n3);
  }
  fillSet(rec1, w1, v1, p1, g1Plru, line, false, shaped);
  return where;
}

/**
 * Bytes of one tag in level `level` (1 L1D, 2 L2, 3 LLC): 2 (u16 tags, narrowFor), 4 (u32) or
 * 8 (u64, RAM above 256 GiB); 0 without a hierarchy or for another level (tests, tools).
 */
export function cacheTagBytes(level: u32): u32 {
  if (!configured || level < HIT_L1 || level > HIT_LLC) return 0;
  const d = level == HIT_L1 ? l1Desc(0) : level == HIT_L2 ? l2Desc(0) : llcDesc();
  return <u32>1 << shiftOf(load<u32>(d + LV_NARROW) != 0);
}

/**
 * A load of `pa` by CPU `cpu` issued by the host (tests, tools that warm the caches): as a walk
 * reference, but counted nowhere. @returns where the line was found (HIT_*), 0 without a hierarchy
 */
export function cacheAccess(cpu: u32, pa: u64): u32 {
  if (!configured || cpu >= nCpus) return 0;
  return cacheLookup(cpu, pa);
}

/** Whether level `level` (1 L1D, 2 L2 of `cpu`; 3 LLC) holds the line of `pa`, without touching it (tests, tools). */
export function cacheHolds(cpu: u32, level: u32, pa: u64): bool {
  if (!configured || cpu >= nCpus || level < HIT_L1 || level > HIT_LLC) return false;
  const d = level == HIT_L1 ? l1Desc(cpu) : level == HIT_L2 ? l2Desc(cpu) : llcDesc();
  const line = (pa >> LINE_SHIFT) + 1;
  const ways = load<u32>(d + LV_WAYS);
  if (line > lineLimit) return false;
  return matchWays(recOf(d, line), ways, waysValid(ways), keyOf(d, line), load<u32>(d + LV_NARROW) != 0) != 0;
}

/**
 * A paging-structure read by CPU `cpu`'s walker at `pa` (a fetch's walk when `fetch`): counted
 * under page_walker_loads.<dtlb|itlb>_<level> in counter block `ctr`. `inlineL1`: the lookup's
 * L1D hit inline (the replay's lean walk, its own copy with the hierarchy on); otherwise a call,
 * because the walker is inlined into paths that run with the caches off too (tlbTranslate,
 * eptWalk), whose code should not carry the lookup's. @returns its latency
 */
@inline export function cacheWalkRef(cpu: u32, pa: u64, fetch: bool, ctr: usize, inlineL1: bool = false): u32 {
  const where = inlineL1 ? lookup(cpu, pa) : cacheLookup(cpu, pa);
  count(ctr, <Counter>(<u32>(fetch ? Counter.PWL_ITLB_L1 : Counter.PWL_DTLB_L1) + where - 1));
  return load<u32>(latencyByWhere + (<usize>where << 2));
}

/** The locked A/D update of a paging-structure entry at `pa`: counted as walk_ad_ref. @returns its line's latency */
export function cacheWalkAd(cpu: u32, pa: u64, ctr: usize): u32 {
  count(ctr, Counter.WALK_AD_REF);
  return load<u32>(latencyByWhere + (<usize>cacheLookup(cpu, pa) << 2));
}

/**
 * A data access of the trace (kind 0 load, 1 store) by CPU `cpu` at `pa`: counted under
 * mem_load_retired.* (loads) or mem_store.* (stores). @returns its latency
 */
export function cacheDataRef(cpu: u32, pa: u64, store_: bool, ctr: usize): u32 {
  const where = cacheLookup(cpu, pa);
  if (store_) {
    count(ctr, <Counter>(<u32>Counter.MEM_STORE_L1_HIT + where - 1));
  } else {
    count(ctr, where == HIT_L1 ? Counter.MEM_LOAD_L1_HIT : Counter.MEM_LOAD_L1_MISS);
    if (where >= HIT_L2) count(ctr, where == HIT_L2 ? Counter.MEM_LOAD_L2_HIT : Counter.MEM_LOAD_L2_MISS);
    if (where >= HIT_LLC) count(ctr, where == HIT_LLC ? Counter.MEM_LOAD_L3_HIT : Counter.MEM_LOAD_L3_MISS);
  }
  return load<u32>(latencyByWhere + (<usize>where << 2));
}
