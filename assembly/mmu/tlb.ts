// The TLB hierarchy of each CPU: which arrays exist (from the preset), where they live, and the
// operations that act on a whole role (L1 instruction, L1 data, second level, paging-structure
// caches). Geometry is fixed at init from the configuration block the host fills.
//
// Owns: the configuration, the per-CPU descriptor tables, and the latency record.
//
//   Configuration block (u32 words at configBlock(), written by the host before init):
//   [0]      number of TLB arrays n (≤ MAX_TLB_ARRAYS)
//   [1+8i…]  array i: role (ROLE_ITLB/DTLB/STLB), entries, ways, sizes mask, policy, seed, 0, 0
//   [CFG_PSC…]      PSC entries for PDE, PDPTE, PML4E, PML5E caches (LRU)
//   [CFG_LATENCY…]  initial latencies, LAT_* order
//   [CFG_TRACE]     trace batch capacity in records
//   [CFG_EVENTS]    event ring capacity in records (stats/events.ts), 0 for none
//   [CFG_STAMPS]    1: reserve the access-stamp region (stats/stamps.ts), 0 for none
//   [CFG_CACHE…]    the cache hierarchy for walks and data (mmu/cache.ts, CC_* words); L1 sets 0: none
//   [CFG_PSC_WAYS…] ways per set of each PSC, same order as CFG_PSC; 0: fully associative (one set).
//                   A PSC of level l indexes its sets by (va >> the level's shift) & (sets - 1), as
//                   the TLB arrays index by VPN: Zen keeps PDEs in its set-associative L2 DTLB.
//   [CFG_NTLB], [CFG_NTLB_WAYS]  the nested TLB's entries (0: none) and ways (0: fully associative):
//                   guest-physical translations, mmu/nested.ts. Its array follows the PSCs in the
//                   descriptor table, outside nDescs, so that VPID-tagged flushes never visit it.
//
//   Latency record (u32 × LAT_COUNT at latencyBase, host-writable at any time):
//   l1Hit, stlbHit, walkMemRef, pscHit, adUpdate, faultEntryExit, ipi, baseAccess

import { CPU_TLB_DESC, CPU_TICK, CPU_STRIDE } from "../abi/layout";
import {
  DESC_SIZE, arrayBytes, arraySetup, arrayLookup, arrayFill, arrayFillAbsent, arrayClear, arrayFlushWhere, arrayFlushAddress, arrayMayDrop,
  arrayOneTag, TAG_NONE,
  sizeShift, D_SETS, D_SIZES, entryFlags, TLBF_SIZE_SHIFT, TLBF_ORIGIN_SHIFT, TLBF_CAPPED, POLICY_LRU, POLICY_PLRU, POLICY_RANDOM, ANY_PCID, SIZE_1G,
  D_SET_MASK, D_WAYS, D_WAYS_PADDED, D_ENTRIES, D_STAMPS, D_POLICY, entryVpn, entryPcid, ENTRY_SHIFT, TLBF_VALID, arrayTouch, stampOf, STAMP_SHIFT,
} from "./tlbarray";
import { cpuPtr, numCpus } from "../arch/x86/cpu";
import { CLOCK_LIMIT, stampsRenumber } from "./tlbclock";
import { evOn, evLog, EV_FILL, EV_EVICT } from "../stats/events";

@inline export const MAX_TLB_ARRAYS: u32 = 16;
@inline export const ROLE_ITLB: u32 = 0;
@inline export const ROLE_DTLB: u32 = 1;
@inline export const ROLE_STLB: u32 = 2;
@inline export const ROLE_PSC: u32 = 3;
@inline export const CFG_WORDS_PER_ARRAY: u32 = 8;
@inline export const CFG_PSC: u32 = 1 + MAX_TLB_ARRAYS * CFG_WORDS_PER_ARRAY;  // 129
@inline export const CFG_LATENCY: u32 = CFG_PSC + 4;                          // 133
@inline export const CFG_TRACE: u32 = CFG_LATENCY + 8;                        // 141
@inline export const CFG_EVENTS: u32 = CFG_TRACE + 1;                         // 142: event ring records (0: none)
@inline export const CFG_STAMPS: u32 = CFG_EVENTS + 1;                        // 143: access stamps (0: none, 1: a u32 per managed frame)
@inline export const CFG_CACHE: u32 = CFG_STAMPS + 1;                         // 144: the cache hierarchy (mmu/cache.ts CC_*, 15 words)
@inline export const CFG_PSC_WAYS: u32 = CFG_CACHE + 15;                      // 159: PSC ways (0: fully associative)
@inline export const CFG_NTLB: u32 = CFG_PSC_WAYS + 4;                        // 163: nested TLB entries (0: none)
@inline export const CFG_NTLB_WAYS: u32 = CFG_NTLB + 1;                       // 164: its ways (0: fully associative)
@inline export const CFG_WORDS: u32 = 166;

@inline export const LAT_L1_HIT: usize = 0;
@inline export const LAT_STLB_HIT: usize = 4;
@inline export const LAT_WALK_MEM_REF: usize = 8;
@inline export const LAT_PSC_HIT: usize = 12;
@inline export const LAT_AD_UPDATE: usize = 16;
@inline export const LAT_FAULT: usize = 20;
@inline export const LAT_IPI: usize = 24;
@inline export const LAT_BASE_ACCESS: usize = 28;
@inline export const LAT_COUNT: u32 = 8;

/** The host writes the configuration here before init (static data, so it exists before memory is sized). */
export const configBlock: usize = memory.data(<i32>(CFG_WORDS * 4), 16);

export let nItlb: u32 = 0;
export let nDtlb: u32 = 0;
export let nStlb: u32 = 0;
/** Descriptors per CPU: the TLB arrays, then one PSC array per level 2..5. */
export let nDescs: u32 = 0;
export let latencyBase: usize = 0;
/** Some paging-structure cache has entries (else walks skip the PSC probes altogether). */
export let pscConfigured: bool = false;
let perCpuBytes: u64 = 0;

@inline function cfg(i: u32): u32 {
  return load<u32>(configBlock + (<usize>i << 2));
}

/** Status of tlbConfigCheck: 0, or 1 + the index of the bad array (PSC: 100 + level). */
export function tlbConfigCheck(): u32 {
  const n = cfg(0);
  if (n > MAX_TLB_ARRAYS) return 1 + MAX_TLB_ARRAYS;
  for (let i: u32 = 0; i < n; i++) {
    const b = 1 + i * CFG_WORDS_PER_ARRAY;
    const role = cfg(b), entries = cfg(b + 1), ways = cfg(b + 2), sizes = cfg(b + 3), policy = cfg(b + 4);
    if (role > ROLE_STLB || entries == 0 || entries > 65536 || ways == 0 || ways > 256 || entries % ways != 0) return 1 + i;
    const sets = entries / ways;
    if ((sets & (sets - 1)) != 0 || sizes == 0 || sizes > 7 || policy > POLICY_RANDOM) return 1 + i;
    if (policy == POLICY_PLRU && ((ways & (ways - 1)) != 0 || ways > 64)) return 1 + i;
    // Roles must come grouped ITLB…, DTLB…, STLB… (the host sorts them).
    if (i > 0 && role < cfg(1 + (i - 1) * CFG_WORDS_PER_ARRAY)) return 1 + i;
  }
  for (let l: u32 = 0; l < 4; l++) {
    const e = cfg(CFG_PSC + l);
    if (e > 65536) return 102 + l;
    if (e == 0) continue;
    const ways = pscWays(l), sets = e / ways;
    if (ways > 256 || e % ways != 0 || (sets & (sets - 1)) != 0) return 102 + l;
  }
  const ne = cfg(CFG_NTLB);
  if (ne > 65536) return 106;
  if (ne > 0) { const w = ntlbWays(), sets = ne / w; if (w > 256 || ne % w != 0 || (sets & (sets - 1)) != 0) return 106; }
  return 0;
}

/** Ways per set of the nested TLB: the configured ways, else all its entries. */
@inline function ntlbWays(): u32 {
  const w = cfg(CFG_NTLB_WAYS);
  return w == 0 ? cfg(CFG_NTLB) : w;
}

/** Ways per set of PSC `l` (0 = PDE … 3 = PML5E): the configured ways, else all its entries. */
@inline function pscWays(l: u32): u32 {
  const w = cfg(CFG_PSC_WAYS + l);
  return w == 0 ? cfg(CFG_PSC + l) : w;
}

/** Bytes one CPU's TLBs need (descriptors + arrays). Call after tlbConfigCheck() == 0. */
export function tlbBytesPerCpu(): u64 {
  const n = cfg(0);
  let bytes: u64 = <u64>(n + 5) * DESC_SIZE + 64;
  for (let i: u32 = 0; i < n; i++) {
    const b = 1 + i * CFG_WORDS_PER_ARRAY;
    bytes += arrayBytes(cfg(b + 1) / cfg(b + 2), cfg(b + 2));
  }
  for (let l: u32 = 0; l < 4; l++) { const e = cfg(CFG_PSC + l); if (e > 0) bytes += arrayBytes(e / pscWays(l), pscWays(l)); }
  if (cfg(CFG_NTLB) > 0) bytes += arrayBytes(cfg(CFG_NTLB) / ntlbWays(), ntlbWays());
  return bytes;
}

/** Lay out every CPU's TLBs from `base` (perCpu bytes each) and the latency record. */
export function tlbSetup(base: usize, cpus: u32, latency: usize): void {
  const n = cfg(0);
  nItlb = 0; nDtlb = 0; nStlb = 0;
  for (let i: u32 = 0; i < n; i++) {
    const role = cfg(1 + i * CFG_WORDS_PER_ARRAY);
    if (role == ROLE_ITLB) nItlb++; else if (role == ROLE_DTLB) nDtlb++; else nStlb++;
  }
  nDescs = n + 4;
  perCpuBytes = tlbBytesPerCpu();
  pscConfigured = false;
  for (let l: u32 = 0; l < 4; l++) if (cfg(CFG_PSC + l) != 0) pscConfigured = true;
  latencyBase = latency;
  for (let l: u32 = 0; l < LAT_COUNT; l++) store<u32>(latency + (<usize>l << 2), cfg(CFG_LATENCY + l));
  for (let c: u32 = 0; c < cpus; c++) {
    const descs = (base + <usize>(<u64>c * perCpuBytes) + 15) & ~15;
    store<u32>(cpuPtr(c) + CPU_TLB_DESC, <u32>descs);
    let mem = descs + <usize>(nDescs + 1) * DESC_SIZE;   // + the nested TLB's descriptor
    for (let i: u32 = 0; i < n; i++) {
      const b = 1 + i * CFG_WORDS_PER_ARRAY;
      const ways = cfg(b + 2);
      const sets = cfg(b + 1) / ways;
      arraySetup(descs + <usize>i * DESC_SIZE, mem, cfg(b), 0, sets, ways, cfg(b + 3), cfg(b + 4), cfg(b + 5) ^ (c * 0x9e37_79b9));
      mem += <usize>arrayBytes(sets, ways);
    }
    for (let l: u32 = 0; l < 4; l++) {
      const e = cfg(CFG_PSC + l);
      const ways = e == 0 ? 0 : pscWays(l);
      const sets = e == 0 ? 0 : e / ways;
      arraySetup(descs + <usize>(n + l) * DESC_SIZE, mem, ROLE_PSC, l + 2, sets, ways, 1, POLICY_LRU, 0);
      if (e > 0) mem += <usize>arrayBytes(sets, ways);
    }
    const ne = cfg(CFG_NTLB);
    const nw = ne == 0 ? 0 : ntlbWays();
    arraySetup(descs + <usize>nDescs * DESC_SIZE, mem, ROLE_PSC, 0, ne == 0 ? 0 : ne / nw, nw, 1, POLICY_LRU, 0);
  }
  ntlbConfigured = cfg(CFG_NTLB) != 0;
}

// The CPU whose arrays clockDesc lists (stampsRenumber's callback).
let clockCpu: usize = 0;
function clockDesc(k: u32): usize {
  return desc(clockCpu, k);
}

/**
 * CPU record `c`'s clock `tick` (its CPU_TICK), made safe to advance and stamp with as a u32: below
 * CLOCK_LIMIT as it is; else every stamp of the CPU's TLB arrays and PSCs renumbered by rank and the
 * clock restarted above them (tlbclock.ts), stored back to CPU_TICK. @returns the clock to use
 */
@inline export function cpuClock(c: usize, tick: u64): u64 {
  return tick < CLOCK_LIMIT ? tick : cpuClockRenumber(c);
}

function cpuClockRenumber(c: usize): u64 {
  clockCpu = c;
  const t = stampsRenumber(nDescs, clockDesc);
  store<u64>(c + CPU_TICK, t);
  return t;
}

/**
 * Set CPU `cpu`'s clock (CPU_TICK) to `tick`, for tests of the renumbering: a clock moved forward
 * keeps every order between stamps, so the model behaves as before; one set near CLOCK_LIMIT
 * crosses it within a few accesses. Ignored for an unknown CPU.
 */
export function tlbClockSet(cpu: u32, tick: u64): void {
  if (cpu < numCpus) store<u64>(cpuPtr(cpu) + CPU_TICK, tick);
}

/** The nested TLB has entries (mmu/nested.ts). */
export let ntlbConfigured: bool = false;

/** The nested TLB's descriptor of CPU record `c` (after the PSCs, outside nDescs). */
@inline export function ntlbDesc(c: usize): usize {
  return desc(c, nDescs);
}

/** Descriptor `i` of CPU record `c`. */
@inline export function desc(c: usize, i: u32): usize {
  return <usize>load<u32>(c + CPU_TLB_DESC) + <usize>i * DESC_SIZE;
}

/** The PSC descriptor for paging level `level` (2 = PDE cache … 5 = PML5E cache). */
@inline export function pscDesc(c: usize, level: u32): usize {
  return desc(c, nDescs - 4 + level - 2);
}

/**
 * Look `va` up in the arrays [first, first+count) of CPU record `c`, at every size each holds.
 * @returns the entry, and the array it came from in `lastArray`; 0 on a miss
 */
export let lastArray: usize = 0;
@inline export function roleLookup(c: usize, first: u32, count: u32, va: u64, pcid: u32): usize {
  for (let i = first; i < first + count; i++) {
    const d = desc(c, i);
    const sizes = load<u32>(d + D_SIZES);
    // Try 4 KiB first: the common case on the hot path.
    if ((sizes & 1) != 0) {
      const e = arrayLookup(d, va >> 12, 0, pcid);
      if (e != 0) { lastArray = d; return e; }
    }
    if ((sizes & 2) != 0) {
      const e = arrayLookup(d, va >> 21, 1, pcid);
      if (e != 0) { lastArray = d; return e; }
    }
    if ((sizes & 4) != 0) {
      const e = arrayLookup(d, va >> 30, 2, pcid);
      if (e != 0) { lastArray = d; return e; }
    }
  }
  return 0;
}

/**
 * Fill the role [first, first+count) with the translation of `va`: a page of size `origin` whose
 * first frame is `basePfn`. The arrays that hold that size take it; if none does, those holding
 * the largest smaller size take the piece containing `va` (a splinter, as hardware fractures large
 * pages into arrays without that size). No array at all: nothing is filled. `absent`: the caller
 * just missed on `va`, so no entry needs replacing.
 *
 * Arrays of one role that hold the same size share it as one pool (poolArray): Golden Cove's
 * second level is two 1024 × 8 arrays (4K+2M, 4K+1G) that Intel's optimization manual describes
 * as one 2048-entry 16-way structure for 4K pages, so a 4K fill may go to either.
 * @returns true if an entry was written
 */
export function roleFill(c: usize, first: u32, count: u32, va: u64, origin: u32, basePfn: u64, pcid: u32, flags: u32, tick: u64, absent: bool, cap: u32 = SIZE_1G): bool {
  // `cap`: the largest entry the translation allows (nested paging: the EPT page size caps a
  // combined entry, mmu/nested.ts); `basePfn` is then the frame the page would start at if the
  // host-physical pieces were contiguous, so that base + offset lands on each piece.
  const top = <i32>min(origin, cap);
  let best: usize = 0;
  let bestSize: i32 = -1;
  let pool: u32 = 0;   // arrays holding bestSize
  for (let i = first; i < first + count; i++) {
    const d = desc(c, i);
    const sizes = load<u32>(d + D_SIZES);
    for (let s = top; s >= 0; s--) {
      if ((sizes & (1 << s)) != 0) {
        if (s > bestSize) { bestSize = s; best = d; pool = 1; } else if (s == bestSize) pool++;
        break;
      }
    }
  }
  if (bestSize < 0) return false;
  if (pool > 1) best = poolArray(c, first, count, <u32>bestSize, va >> sizeShift(<u32>bestSize), pcid, absent);
  const s = <u32>bestSize;
  const sh = sizeShift(s);
  // The frame of the piece containing va: base + (offset of that piece in 4 KiB frames).
  const offsetPages = (va & ((<u64>1 << sizeShift(origin)) - 1)) >> sh << (sh - 12);
  let f = (flags & ~((<u32>3 << TLBF_SIZE_SHIFT) | (<u32>3 << TLBF_ORIGIN_SHIFT))) | (s << TLBF_SIZE_SHIFT) | (origin << TLBF_ORIGIN_SHIFT);
  if (<u32>top < origin) f |= TLBF_CAPPED;
  if (!evOn) {
    if (absent) arrayFillAbsent(best, va >> sh, basePfn + offsetPages, pcid, f, tick);
    else arrayFill(best, va >> sh, basePfn + offsetPages, pcid, f, tick);
    return true;
  }
  // Event ring on: note what the way held before, so the eviction can be reported.
  const set = <u32>(va >> sh) & load<u32>(best + D_SET_MASK);
  const wp = load<u32>(best + D_WAYS_PADDED);
  const setEntries = <usize>load<u32>(best + D_ENTRIES) + (<usize>(set * wp) << ENTRY_SHIFT);
  const ways = load<u32>(best + D_WAYS);
  for (let w: u32 = 0; w < ways && w < 16; w++) {
    const e = setEntries + (<usize>w << ENTRY_SHIFT);
    store<u64>(evScratch + (<usize>w << 4), (entryFlags(e) & TLBF_VALID) != 0 ? entryVpn(e) : 0xffff_ffff_ffff_ffff);
    store<u64>(evScratch + (<usize>w << 4), <u64>(entryFlags(e) >> TLBF_SIZE_SHIFT) & 3 | (<u64>entryPcid(e) << 8), 8);
  }
  const written = absent ? arrayFillAbsent(best, va >> sh, basePfn + offsetPages, pcid, f, tick) : arrayFill(best, va >> sh, basePfn + offsetPages, pcid, f, tick);
  const way = <u32>((written - setEntries) >> ENTRY_SHIFT);
  const cpu = <u32>((c - cpuPtr(0)) / CPU_STRIDE);
  const index = <u32>((best - desc(c, 0)) / DESC_SIZE);
  const old = load<u64>(evScratch + (<usize>way << 4));
  if (way < 16 && old != 0xffff_ffff_ffff_ffff && old != va >> sh) {
    const meta = load<u64>(evScratch + (<usize>way << 4), 8);
    const osize = <u32>(meta & 3);
    evLog(EV_EVICT, cpu, index, osize, <u32>(meta >> 8), 0, old << sizeShift(osize), 0, 0);
  }
  evLog(EV_FILL, cpu, index, s, pcid, 0, (va >> sh) << sh, basePfn + offsetPages, 0);
  return true;
}

/**
 * The array of a pool (the role's arrays holding page size `size`) that takes a fill of `vpn`:
 * the one already holding `vpn` when `absent` is false; else the first with an invalid way in
 * `vpn`'s set; else the policy's choice across the pool. Arrays with true LRU give the pool true
 * LRU (the array holding the set's oldest entry); tree PLRU and random arrays get the root of a
 * tree over the arrays (the array whose newest entry in the set is older — the root bit of a
 * 16-way tree PLRU built from two 8-way ones, which roleTouch keeps current through the stamps).
 * Ties go to the lower array, as the hardware's way order would.
 */
function poolArray(c: usize, first: u32, count: u32, size: u32, vpn: u64, pcid: u32, absent: bool): usize {
  let chosen: usize = 0;
  let chosenAge: u64 = 0xffff_ffff_ffff_ffff;
  for (let i = first; i < first + count; i++) {
    const d = desc(c, i);
    if ((load<u32>(d + D_SIZES) & (1 << size)) == 0) continue;
    if (!absent && arrayLookup(d, vpn, size, pcid) != 0) return d;
    const ways = load<u32>(d + D_WAYS);
    const stamps = <usize>load<u32>(d + D_STAMPS) + (<usize>((<u32>vpn & load<u32>(d + D_SET_MASK)) * load<u32>(d + D_WAYS_PADDED)) << STAMP_SHIFT);
    let oldest: u64 = 0xffff_ffff_ffff_ffff, newest: u64 = 0;
    for (let w: u32 = 0; w < ways; w++) {
      const t = <u64>load<u32>(stamps + (<usize>w << STAMP_SHIFT));
      oldest = min(oldest, t);
      newest = max(newest, t);
    }
    if (oldest == 0) { if (absent) return d; continue; }   // an invalid way (stamp 0)
    const age = load<u32>(d + D_POLICY) == POLICY_LRU ? oldest : newest;
    if (age < chosenAge) { chosen = d; chosenAge = age; }
  }
  if (chosen == 0) {
    // Not absent and not found: the first array with an invalid way, as an absent fill.
    return poolArray(c, first, count, size, vpn, pcid, true);
  }
  return chosen;
}

/** Whether the role [first, first+count) has two or more arrays holding 4 KiB pages (a pool). */
export function rolePools4k(c: usize, first: u32, count: u32): bool {
  let n: u32 = 0;
  for (let i = first; i < first + count; i++) if ((load<u32>(desc(c, i) + D_SIZES) & 1) != 0) n++;
  return n > 1;
}

/**
 * Record a use of entry `e` of array `d` (a hit) for the replacement policy, and its stamp, which
 * a pool's choice between arrays reads (poolArray) whatever the array's own policy.
 */
@inline export function roleTouch(d: usize, e: usize, tick: u64): void {
  arrayTouch(d, e, tick);
  store<u32>(stampOf(d, e), <u32>tick);
}

/** roleFill's copy of a set's ways (vpn, size | pcid << 8) before a fill, with the event ring on. */
const evScratch: usize = memory.data(16 * 16, 16);

/** Flush every TLB array and PSC of CPU record `c` for `pcid` (ANY_PCID: all), globals too if asked. */
export function cpuFlushPcid(c: usize, pcid: u32, withGlobal: bool): void {
  for (let i: u32 = 0; i < nDescs; i++) {
    const d = desc(c, i);
    if (load<u32>(d + D_SETS) == 0) continue;
    if (pcid == ANY_PCID && withGlobal) arrayClear(d);
    else arrayFlushWhere(d, pcid, withGlobal);
  }
}

/** Whether cpuFlushAddress skips TLB array `d` without looking at its keys (see there). */
@inline function flushSkips(d: usize, clearA: usize, clearB: usize): bool {
  return arrayOneTag(d) == TAG_NONE || d == clearA || d == clearB;
}

/**
 * Whether cpuFlushAddress(c, …, clearA, clearB) may drop anything: a paging-structure cache is
 * configured, or some TLB array is one it would look into (flushSkips). Inline, for a caller
 * that flushes per fault (replay/miss.ts absentFault): where the arrays it just missed are the
 * only ones filled, the call is not made at all.
 */
@inline export function cpuFlushMayDrop(c: usize, clearA: usize, clearB: usize): bool {
  if (pscConfigured) return true;
  const base = desc(c, 0), end = desc(c, nDescs - 4);
  for (let d = base; d < end; d += DESC_SIZE) if (!flushSkips(d, clearA, clearB)) return true;
  return false;
}

/**
 * Invalidate `va` in every TLB array for `pcid` (globals too if asked), and PSC entries of `pcid`.
 * `clearA`, `clearB`: arrays the caller knows hold no entry for va's page (the replay's L1 and
 * second level that just missed it with exact probes: replay/miss.ts absentFault), skipped.
 */
export function cpuFlushAddress(c: usize, va: u64, pcid: u32, withGlobal: bool, allPsc: bool, clearA: usize = 0, clearB: usize = 0): void {
  const tlbs = nDescs - 4;
  // Most flushes find nothing to drop (a #PF's of a page no array holds): a tag-key compare per
  // array (arrayMayDrop) spares them the call. An array filled with nothing since its last full
  // clear (arrayOneTag TAG_NONE: the instruction TLB of a data trace) is skipped without reading
  // its keys, which would cost a miss in the host's caches.
  for (let i: u32 = 0; i < tlbs; i++) {
    const d = desc(c, i);
    if (flushSkips(d, clearA, clearB)) continue;
    if (arrayMayDrop(d, va)) arrayFlushAddress(d, va, pcid, withGlobal);
  }
  // Without paging-structure caches (every PSC's D_SETS 0: tlbSetup), nothing more to look at.
  if (!pscConfigured) return;
  for (let l: u32 = 2; l <= 5; l++) {
    const d = pscDesc(c, l);
    if (load<u32>(d + D_SETS) == 0) continue;
    // INVLPG drops every PSC entry of the PCID; a #PF only those that would translate va.
    if (allPsc) arrayFlushWhere(d, pcid, false);
    else arrayFlushAddress(d, va >> (12 + 9 * (<u64>l - 1)) << 12, pcid, false);
  }
}

