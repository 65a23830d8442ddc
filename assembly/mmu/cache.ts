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
//   index hashed)   +12 latency u32   +16 policy u32   +20 clock u32
//   +24 sets u32 ptr   +28 set stride u32 (bytes per set record)
//
//   Set record (one per set, contiguous, so a lookup touches one place in the host's memory):
//   ways × u64 tags (line address + 1; 0 when empty, so fresh memory is an empty cache), then
//   LRU: ways × u32 stamps; PLRU: one u64 of tree bits.
//
// Policies. Inclusion between L1D and L2 is NINE (non-inclusive, non-exclusive): a miss fills every
// level it passed, and an eviction from one level leaves the others alone. The LLC is, per preset:
// NINE (Intel since Skylake-SP), inclusive (Intel client through Skylake: an LLC eviction
// back-invalidates the line in every CPU's L1D and L2), or exclusive (AMD Zen's L3, a victim cache
// of the L2s: memory fills skip it, L2 victims go into it, an LLC hit moves the line up to L2).
// Writes (A/D updates, stores) allocate like reads; dirty lines and write-backs cost nothing
// here, and there is no coherence between CPUs' private caches (a line written on one CPU stays
// valid in another's L1D): the model is of latency seen by loads, not of the memory system.
// Replacement: "lru" (exact, u32 stamps from a per-level clock, renormalised before it wraps) or
// "plru" (tree pseudo-LRU, power-of-two ways ≤ 64). An invalid way is always filled first.

import { count, Counter } from "../stats/counters";
import { plruTouchBits } from "./plru";

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
@inline const LV_CLOCK: usize = 20;
@inline const LV_LINES: usize = 24;
@inline const LV_STRIDE: usize = 28;
@inline const LINE_INVALID: u64 = 0;
@inline const NO_MASK: u32 = 0xffff_ffff;

/** Walk references go through the hierarchy (mode walks or all). */
export let cacheWalks: bool = false;
/** Data accesses of the replay go through it too (mode all). */
export let cacheData: bool = false;
/** Latency of a reference that misses every level. */
export let memoryLatency: u32 = 0;
let inclusion: u32 = INCL_NINE;
let configured: bool = false;
let nCpus: u32 = 0;
/** Descriptors: [cpu × 2 + 0] L1D, [cpu × 2 + 1] L2, [2 × cpus] the LLC. */
let lvBase: usize = 0;

function levelValid(sets: u32, ways: u32, policy: u32): bool {
  if (sets == 0 || ways == 0 || ways > 64 || sets > (1 << 24) || policy > CPOL_PLRU) return false;
  return policy != CPOL_PLRU || (ways & (ways - 1)) == 0;
}

/** Bytes of one set record: the tags, then the stamps (LRU) or the tree bits (PLRU), 8-aligned. */
@inline function setStride(ways: u32, policy: u32): u32 {
  return ways * 8 + (policy == CPOL_PLRU ? 8 : (ways * 4 + 7) & ~7);
}

@inline function levelBytes(sets: u32, ways: u32, policy: u32): u64 {
  return <u64>sets * setStride(ways, policy) + 64;
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

/** Bytes the hierarchy needs for `cpus` CPUs (0 without one). Call after cacheConfigCheck() == 0. */
export function cacheBytes(cfg: usize, cpus: u32): u64 {
  if (load<u32>(cfg + (CC_L1 << 2)) == 0) return 0;
  let bytes: u64 = <u64>(2 * cpus + 1) * LV_SIZE + 64;
  for (let l: u32 = 0; l < 3; l++) {
    const w = cfg + (<usize>(CC_L1 + 4 * l) << 2);
    const b = levelBytes(load<u32>(w), load<u32>(w, 4), load<u32>(w, 12));
    bytes += l == 2 ? b : b * cpus;
  }
  return bytes;
}

/** Lay the hierarchy out from `base` (cacheBytes bytes) and empty it; base 0: no hierarchy. */
export function cacheSetup(cfg: usize, base: usize, cpus: u32): void {
  configured = base != 0 && load<u32>(cfg + (CC_L1 << 2)) != 0;
  nCpus = cpus;
  lvBase = (base + 63) & ~63;
  cacheWalks = false; cacheData = false;
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
    mem = (mem + 15) & ~15;
    store<u32>(d + LV_LINES, <u32>mem);
    store<u32>(d + LV_STRIDE, setStride(ways, policy));
    mem += <usize>sets * setStride(ways, policy) + 16;   // + the tag search's read past the last set
  }
  // Fresh linear memory is zero: every line empty, every clock 0 (cacheFlushAll empties it later).
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

/** Empty every level of every CPU (the lines only; clocks restart). */
export function cacheFlushAll(): void {
  if (!configured) return;
  for (let i: u32 = 0; i < 2 * nCpus + 1; i++) {
    const d = lvBase + <usize>i * LV_SIZE;
    const sets = load<u32>(d + LV_SETS), ways = load<u32>(d + LV_WAYS);
    memory.fill(load<u32>(d + LV_LINES), 0, <usize>sets * load<u32>(d + LV_STRIDE));
    store<u32>(d + LV_CLOCK, 0);
  }
}

/** The set record of set `set` of level `d`; its stamps or tree bits follow its `ways` tags. */
@inline function setRec(d: usize, set: u32): usize {
  return <usize>load<u32>(d + LV_LINES) + <usize>set * load<u32>(d + LV_STRIDE);
}

@inline function l1Desc(cpu: u32): usize { return lvBase + <usize>(cpu * 2) * LV_SIZE; }
@inline function l2Desc(cpu: u32): usize { return lvBase + <usize>(cpu * 2 + 1) * LV_SIZE; }
@inline function llcDesc(): usize { return lvBase + <usize>(nCpus * 2) * LV_SIZE; }

/** Hit latency of a level (1 L1D, 2 L2, 3 LLC; 4 memory). */
export function cacheLatency(level: u32): u32 {
  if (!configured) return 0;
  if (level == HIT_MEMORY) return memoryLatency;
  return load<u32>((level == HIT_LLC ? llcDesc() : lvBase + <usize>(level - 1) * LV_SIZE) + LV_LAT);
}

/**
 * The set of `line` in level `d`: its low bits when sets is a power of two (physically indexed,
 * as L1D and L2 are), else a multiplicative hash reduced to [0, sets) (an LLC whose slice count
 * is not a power of two; Intel's slice hash is undocumented).
 */
@inline function setOf(d: usize, line: u64): u32 {
  const mask = load<u32>(d + LV_MASK);
  if (mask != NO_MASK) return <u32>line & mask;
  const h = <u32>((line * 0x9e37_79b9_7f4a_7c15) >> 32);
  return <u32>((<u64>h * <u64>load<u32>(d + LV_SETS)) >> 32);
}

/**
 * The way of `line` in set `set` of level `d`, or -1. Two tags per SIMD compare, joined into one
 * mask, so the search has no data-dependent branch (a set's ways are read two at a time; reading
 * past the last way stays inside the level's storage, whose metadata follows the lines).
 */
@inline function findWay(d: usize, set: u32, line: u64): i32 {
  const ways = load<u32>(d + LV_WAYS);
  const p = setRec(d, set);
  const kv = i64x2.splat(<i64>line);
  let hits: u64 = 0;
  for (let w: u32 = 0; w < ways; w += 2) hits |= <u64>i64x2.bitmask(i64x2.eq(v128.load(p + (<usize>w << 3)), kv)) << w;
  hits &= ways >= 64 ? 0xffff_ffff_ffff_ffff : (<u64>1 << ways) - 1;
  return hits == 0 ? -1 : <i32>ctz(hits);
}

/** Record a use of way `way` of set `set` (LRU stamp or PLRU tree bits). */
function touch(d: usize, set: u32, way: u32): void {
  const ways = load<u32>(d + LV_WAYS);
  if (load<u32>(d + LV_POLICY) == CPOL_PLRU) {
    const p = setRec(d, set) + (<usize>ways << 3);
    store<u64>(p, plruTouchBits(load<u64>(p), ways, way));
    return;
  }
  let clock = load<u32>(d + LV_CLOCK) + 1;
  if (clock == 0xffff_ffff) clock = renormalise(d);
  store<u32>(d + LV_CLOCK, clock);
  store<u32>(setRec(d, set) + (<usize>ways << 3) + (<usize>way << 2), clock);
}

/** Halve every stamp of level `d` (order kept, up to ties) before its clock wraps. @returns the new clock */
function renormalise(d: usize): u32 {
  const sets = load<u32>(d + LV_SETS), ways = load<u32>(d + LV_WAYS);
  for (let set: u32 = 0; set < sets; set++) {
    const m = setRec(d, set) + (<usize>ways << 3);
    for (let w: u32 = 0; w < ways; w++) {
      const s = load<u32>(m + (<usize>w << 2));
      if (s != 0) store<u32>(m + (<usize>w << 2), max<u32>(s >> 1, 1));
    }
  }
  return 0x8000_0000;
}

/**
 * The way a fill of set `set` replaces: the first invalid way, else the policy's victim. Under LRU
 * an invalid way has stamp 0 and a valid one a stamp ≥ 1, so the oldest stamp (the lowest way on
 * a tie) is both, found without a data-dependent branch.
 */
function victimWay(d: usize, set: u32): u32 {
  const ways = load<u32>(d + LV_WAYS);
  if (load<u32>(d + LV_POLICY) == CPOL_PLRU) {
    const p = setRec(d, set);
    for (let w: u32 = 0; w < ways; w++) if (load<u64>(p + (<usize>w << 3)) == LINE_INVALID) return w;
    const bits = load<u64>(p + (<usize>ways << 3));
    let node: u32 = 1, way: u32 = 0;
    for (let half = ways >> 1; half >= 1; half >>= 1) {
      const right = (bits & (<u64>1 << node)) != 0;
      if (right) way |= half;
      node = (node << 1) | (right ? 1 : 0);
    }
    return way;
  }
  const m = setRec(d, set) + (<usize>ways << 3);
  let best: u32 = 0, oldest: u32 = load<u32>(m);
  for (let w: u32 = 1; w < ways; w++) {
    const s = load<u32>(m + (<usize>w << 2));
    const older = s < oldest;
    best = select<u32>(w, best, older);
    oldest = select<u32>(s, oldest, older);
  }
  return best;
}

/** Insert `line` (known absent) into level `d` as most recently used. @returns the line evicted, or LINE_INVALID */
function insert(d: usize, line: u64): u64 {
  const set = setOf(d, line);
  const way = victimWay(d, set);
  const p = setRec(d, set) + (<usize>way << 3);
  const old = load<u64>(p);
  store<u64>(p, line);
  touch(d, set, way);
  return old;
}

/** Drop `line` from level `d` if present. */
function remove(d: usize, line: u64): void {
  const set = setOf(d, line);
  const way = findWay(d, set, line);
  if (way < 0) return;
  const ways = load<u32>(d + LV_WAYS);
  const p = setRec(d, set);
  store<u64>(p + (<usize>way << 3), LINE_INVALID);
  if (load<u32>(d + LV_POLICY) == CPOL_LRU) store<u32>(p + (<usize>ways << 3) + (<usize>way << 2), 0);
}

/** Look `line` up in level `d`; on a hit make it most recently used. */
@inline function probe(d: usize, line: u64): bool {
  const set = setOf(d, line);
  const way = findWay(d, set, line);
  if (way < 0) return false;
  touch(d, set, <u32>way);
  return true;
}

/** Fill L2 of a CPU with `line`; with an exclusive LLC the L2's victim moves down into it. */
function fillL2(l2: usize, line: u64): void {
  const victim = insert(l2, line);
  if (inclusion == INCL_EXCLUSIVE && victim != LINE_INVALID) insert(llcDesc(), victim);
}

/** Fill the LLC from memory; an inclusive LLC's victim leaves every CPU's L1D and L2. */
function fillLlc(line: u64): void {
  const victim = insert(llcDesc(), line);
  if (inclusion == INCL_INCLUSIVE && victim != LINE_INVALID) {
    for (let c: u32 = 0; c < nCpus; c++) { remove(l1Desc(c), victim); remove(l2Desc(c), victim); }
  }
}

/**
 * One reference of CPU `cpu` to physical address `pa`: look it up level by level, fill the levels
 * above where it was found (per the inclusion policy). Called only with a hierarchy configured.
 * @returns HIT_L1, HIT_L2, HIT_LLC or HIT_MEMORY
 */
export function cacheLookup(cpu: u32, pa: u64): u32 {
  const line = (pa >> LINE_SHIFT) + 1;
  const l1 = l1Desc(cpu);
  if (probe(l1, line)) return HIT_L1;
  const l2 = l2Desc(cpu);
  if (probe(l2, line)) { insert(l1, line); return HIT_L2; }
  const llc = llcDesc();
  let where = HIT_MEMORY;
  if (probe(llc, line)) {
    where = HIT_LLC;
    if (inclusion == INCL_EXCLUSIVE) remove(llc, line);   // moves up to L2
  } else if (inclusion != INCL_EXCLUSIVE) {
    fillLlc(line);
  }
  fillL2(l2, line);
  insert(l1, line);
  return where;
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
  return findWay(d, setOf(d, line), line) >= 0;
}

/**
 * A paging-structure read by CPU `cpu`'s walker at `pa` (a fetch's walk when `fetch`): counted
 * under page_walker_loads.<dtlb|itlb>_<level> in counter block `ctr`. @returns its latency
 */
export function cacheWalkRef(cpu: u32, pa: u64, fetch: bool, ctr: usize): u32 {
  const where = cacheLookup(cpu, pa);
  count(ctr, <Counter>(<u32>(fetch ? Counter.PWL_ITLB_L1 : Counter.PWL_DTLB_L1) + where - 1));
  return cacheLatency(where);
}

/** The locked A/D update of a paging-structure entry at `pa`: counted as walk_ad_ref. @returns its line's latency */
export function cacheWalkAd(cpu: u32, pa: u64, ctr: usize): u32 {
  count(ctr, Counter.WALK_AD_REF);
  return cacheLatency(cacheLookup(cpu, pa));
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
  return cacheLatency(where);
}
