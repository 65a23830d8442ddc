// The batch replay loop: translate a run of trace records in one call, stopping only when an
// access faults (the host decides what the fault means, then resumes at the same record).
//
// Owns: the trace batch buffer (capacity set at init) and the replay status word.
//
// Records are the 16-byte layout of abi/records.ts.
//
// replay(start, end) returns the index of the first record not completed. The status word says
// why: REPLAY_DONE (== end), REPLAY_FAULT (that record faulted; its CPU's result record and CR2
// describe it), REPLAY_BAD_RECORD (CPU id or kind out of range).
// A not-present fault that the host's registered policy covers (faultpolicy.ts: count-and-skip,
// 4 KiB demand mapping) is resolved without stopping: the loop goes on with the next record or
// retries the same one.
//
// Fast path. Most records are user-mode accesses within one page that hit at 4 KiB in the first
// L1 array, or miss it and hit the first second-level array. For those, with CR4.PKE=0, the
// rights check of rights.ts reduces to flag tests (user read: U; user write: U, W and D; user
// fetch: U and not NX), so the loop tests the entry's flags against a mask and, on success,
// stamps the entry (and fills L1 from the second level) and counts in locals until the CPU
// changes or the batch ends. It also remembers the last entry it used per L1 array, so a run of
// accesses to one page skips the lookup (nothing else can change the arrays between two fast-path
// accesses: the memo is dropped whenever the full path runs). Anything else — a miss in both, a
// clean entry on a write, a supervisor access, PKE on, a straddle — takes the full path
// (access.ts), which is the reference: the fast path may only ever decline, never decide
// differently, and it counts exactly what the full path would. In a run of walks it also reads
// the PTEs of the records ahead (touchAhead), for the host's memory-level parallelism only.
// For the issue #17 model's shape (one 64 × 4 L1 DTLB and one 1,536 × 12 second level, both true
// LRU and 4 KiB only, 4-level paging) fastRun first hands the run to hitRun, the same loop with
// the geometry as literals and exact tag-key probes (no tag word read: hitShape, arrayOneTag);
// the general loop takes over at the first record hitRun declines (a fetch, a clean entry, …).
// A record that misses both of hitRun's arrays goes, where walkUser applies (with the hierarchy
// on walks or off), to missRun: that record and the misses right after it walked and filled in one loop
// (issue #17 trace (e): random accesses over gigabytes of 2 MiB pages miss nearly every time),
// with the same walks, fills, ticks and counts as fastMiss's one record per call.
// The miss path (fastMiss, missRun, touchAhead) is replay/miss.ts; the state the two share, with
// the trace batch buffer, is replay/fast.ts.
// Its walks are lean (walk.ts): one that succeeds leaves the CPU's result record as it was, so
// after a batch the result record describes the record the replay stopped at (a fault), not
// the last successful translation; the walk entries are written only by a walk that faulted, set
// A/D bits or filled paging-structure caches (walk.ts putEntries).
//
// Access stamps (stats/stamps.ts). With them on, replay() hands the whole call to replayStamped
// (replay/stamped.ts), a loop of its own: every record through the full path and the frame of
// each translated page stamped with the record's number. The test is made once per call, so with stamps off the loop
// above runs exactly as it did, not one instruction more per record.
import { CPU_CR3, CPU_CR4, CPU_TICK } from "../abi/layout";
import { CR4_PCIDE, CR4_PKE, CR4_LA57, CR3_PCID_MASK } from "../arch/x86/regs";
import { cpuPtr, numCpus } from "../arch/x86/cpu";
import { XLAT_OK } from "../arch/x86/fault";
import { resolveFault } from "./faultpolicy";
import { tlbTranslate, flushMissCounts } from "../mmu/access";
import { walkUserSetup } from "../mmu/walkuser";
import { inGuest } from "../mmu/nested";
import {
  nItlb, nDtlb, nStlb, desc, rolePools4k, cpuClock, latencyBase, LAT_L1_HIT, LAT_STLB_HIT, LAT_BASE_ACCESS,
} from "../mmu/tlb";
import {
  arrayLookup, arrayTouch, arrayFillAbsent, arrayRefillLru, SIZE_4K, D_SETS, D_SIZES, D_POLICY, POLICY_LRU, stampOf,
  entryPfn, entryFlags, D_WAYS, D_KEYS, D_ENTRIES, D_STAMPS, D_WAYS_PADDED, E_PFN, E_FLAGS, E_FLAGS_SHIFT, TAG_NONE,
  ENTRY_SHIFT as ENTRY_SHIFT_T, arrayOneTag, arrayClaimTag, setKeyHits, oldestWay, entryPlace, tagWord, MODEL_L1_SETS,
  MODEL_L1_WAYS, MODEL_L2_SETS, MODEL_L2_WAYS, STAMP_SHIFT,
} from "../mmu/tlbarray";
import { RIGHT_USER, RIGHT_WRITE, RIGHT_DIRTY, RIGHT_NX } from "../abi/layout";
import { ENTRY_SHIFT } from "../arch/x86/pgtable";
import { count, countN, counterBlock, Counter } from "../stats/counters";
import {
  RECORD_SIZE, REC_KIND_BITS, REC_WRITE, REC_FETCH, REC_USER, REC_IMPLICIT, REPLAY_DONE, REPLAY_FAULT,
  REPLAY_BAD_RECORD, REPLAY_EVENTS_FULL, recordMetaBad,
} from "../abi/records";
import { evOn, evRoom } from "../stats/events";
import { stOn } from "../stats/stamps";
import { cacheData, cacheWalks } from "../mmu/cache";
import { replayStamped, stampedStatus, dataRef, accessFlags } from "./stamped";
import {
  traceBase, traceCapacity, setTraceBuffer, fCpu, fD, fI, fL2, fL2Lru, fDLru, fWalkUser, fHit, fCr4, fCtr, fFault,
  fPcid, fTick, fAccesses, fL1Hits, fL2Hits, PACK, FAST_RUN_MAX, fMemoVpnI, fMemoI, touchedTo, lastMiss, fEnd, hitKindOk, hitOnePage,
} from "./fast";
import { fastMissFn, missSetup, missRun, missRunCached, missOne } from "./miss";
export { RECORD_SIZE };

/**
 * Staging area for records decoded struct-of-arrays (as trace readers produce them): lo u32[cap],
 * hi u32[cap], size u8[cap], kind u8[cap], cpu u16[cap]. The host copies each array in with one
 * typed-array set, and packRecords() interleaves them into the batch buffer inside Wasm.
 */
export let stageBase: usize = 0;
export let replayStatus: u32 = REPLAY_DONE;

export function replaySetup(base: usize, capacity: u32, stage: usize): void {
  setTraceBuffer(base, capacity);
  stageBase = stage;
  memoRunFn = memoRun;
  hitRunFn = hitRun;
  hitMissFn = missOne;
  missSetup();
  fastFetchFn = fastFetch;
}

/**
 * memoRun, called through the table: the optimiser would otherwise inline it into fastRun,
 * and its tight loop would lose its registers to fastRun's many live values.
 */
let memoRunFn: (i: u32, end: u32, cpu: u32, vpn: u64, e: usize, writeOk: bool) => u32 = memoRunStub;

function memoRunStub(i: u32, end: u32, cpu: u32, vpn: u64, e: usize, writeOk: bool): u32 {
  return i + 0 * (end + cpu + <u32>vpn + <u32>e + (writeOk ? 1 : 0));
}

/**
 * fastRun's rare paths (a miss of every array; an instruction fetch), called through the table
 * for the same reason: kept out of line, their code and values stay out of fastRun's loop.
 */
/** hitRun, through the table for the same reason: its loop keeps its own registers. */
let hitRunFn: (i: u32, end: u32, cpu: u32) => u32 = hitRunStub;
/**
 * hitLoop's miss of both arrays, through the table for the same reason: missRun where walkUser
 * applies (missRunCached with the hierarchy on walks), else missOne (fastMiss). @returns the first record not
 * completed; fFault set when that one faulted and the host must decide
 */
let hitMissFn: (i: u32, end: u32, cpu: u32) => u32 = hitRunStub;

function hitRunStub(i: u32, end: u32, cpu: u32): u32 {
  return i + 0 * (end + cpu);
}
let fastFetchFn: (i: u32, cpu: u32) => u32 = rareStub;

function rareStub(i: u32, cpu: u32): u32 {
  return 0 * (i + cpu);
}

/** Bytes of the staging area for `capacity` records. */
export function stageBytes(capacity: u32): u64 {
  return <u64>capacity * 12;
}

/** Interleave staged records [0, n) into batch records [0, n). */
export function packRecords(n: u32): void {
  if (n > traceCapacity) n = traceCapacity;
  const cap = <usize>traceCapacity;
  const lo = stageBase, hi = lo + (cap << 2), size = hi + (cap << 2), kind = size + cap, cpu = kind + cap;
  for (let i: usize = 0; i < <usize>n; i++) {
    const r = traceBase + (i << 4);
    store<u64>(r, <u64>load<u32>(lo + (i << 2)) | (<u64>load<u32>(hi + (i << 2)) << 32));
    store<u32>(r, <u32>load<u8>(size + i) | (<u32>load<u8>(kind + i) << 8) | (<u32>load<u16>(cpu + (i << 1)) << 16), 8);
    store<u32>(r, 0, 12);
  }
}

/**
 * Take batch records [0, n) as a trace file holds them (the wmt format is this layout): check
 * each is well-formed — reserved word 0, no kind bit outside REC_KIND_BITS, kind not 3 — then OR
 * `kindOr` into its kind byte and take its CPU id modulo `cpus`. Stops at the first record that
 * is not well-formed and leaves it as it was (its bytes are what the host reports).
 * One pass in the core over records the host has just copied in, instead of a pass in JavaScript
 * before the copy. @returns n, or the index of the first malformed record
 */
export function ingestRecords(n: u32, kindOr: u32, cpus: u32): u32 {
  if (n > traceCapacity) n = traceCapacity;
  if (cpus == 0) cpus = 1;
  const or: u64 = <u64>(kindOr & 0xff) << 8;
  // A record needs rewriting only when `or` adds a bit or its CPU id is folded; most files need
  // neither, so the common pass only reads: the test for both is one compare per record.
  const cpuLimit: u64 = <u64>min<u32>(cpus, 0x10000) << 16;
  const badKind: u64 = <u64>(~REC_KIND_BITS & 0xff) << 8;
  let i: u32 = 0;
  while (i < n) {
    // Eight records at once (issue #17: this pass is the file path's own cost): the block passes
    // when the OR of its meta words has no reserved or stray kind bit and no CPU id at or above
    // `cpus` (each id is at most the OR of the ids), no record has kind 3 (both kind bits), and
    // the AND has every bit of `or` (nothing to rewrite). Any doubt: the per-record pass below
    // decides, so a block's result is always the per-record pass's.
    if (i + 8 <= n) {
      const r = traceBase + (<usize>i << 4);
      const m0 = load<u64>(r, 8), m1 = load<u64>(r, 24), m2 = load<u64>(r, 40), m3 = load<u64>(r, 56);
      const m4 = load<u64>(r, 72), m5 = load<u64>(r, 88), m6 = load<u64>(r, 104), m7 = load<u64>(r, 120);
      const any = m0 | m1 | m2 | m3 | m4 | m5 | m6 | m7;
      const all = m0 & m1 & m2 & m3 & m4 & m5 & m6 & m7;
      const both = (m0 & (m0 >> 1)) | (m1 & (m1 >> 1)) | (m2 & (m2 >> 1)) | (m3 & (m3 >> 1))
        | (m4 & (m4 >> 1)) | (m5 & (m5 >> 1)) | (m6 & (m6 >> 1)) | (m7 & (m7 >> 1));
      if (((any >> 32) | (any & badKind) | (both & 0x100)) == 0 && (all & or) == or && (any & 0xffff_0000) < cpuLimit) {
        i += 8;
        continue;
      }
    }
    const end = min<u32>(i + 8, n);
    for (; i < end; i++) {
      const r = traceBase + (<usize>i << 4);
      const meta = load<u64>(r, 8);   // size u8, kind u8, cpu u16, reserved u32
      if (recordMetaBad(meta) != 0) return i;
      if ((meta | or) != meta || (meta & 0xffff_0000) >= cpuLimit) {
        let m = meta | or;
        const cpu = <u32>(m >> 16) & 0xffff;
        if (cpu >= cpus) m = (m & ~(<u64>0xffff << 16)) | (<u64>(cpu % cpus) << 16);
        store<u64>(r, m, 8);
      }
    }
  }
  return i;
}

/**
 * The first array of a role when it holds 4 KiB pages (the fast path's), else 0; 0 too when
 * several arrays of the role share 4 KiB pages (tlb.ts roleFill's pool: the full path fills it).
 */
function fastArray(c: usize, first: u32, n: u32): usize {
  if (n == 0 || rolePools4k(c, first, n)) return 0;
  const d = desc(c, first);
  if (load<u32>(d + D_SETS) == 0 || (load<u32>(d + D_SIZES) & 1) == 0) return 0;
  return d;
}

let mTick: u64 = 0;

/**
 * Nonzero unless a record (bytes 8..15 `meta`; `off`: its address minus the run's page base,
 * wrapping below it) is an access of the run: kind and CPU as `want` under `mask`, reserved 0,
 * and its bytes [off, off + size) inside the page. Declines (conservatively) a size-0 record at
 * offset 0, which the caller then takes through the lookup path.
 */
@inline function memoMiss(meta: u64, off: u64, mask: u64, want: u64): u64 {
  return ((meta & mask) ^ want) | ((off | (off + (meta & 0xff) - 1)) >> 12);
}

/**
 * Reads and writes of CPU `cpu` to page `vpn`, whose L1 entry `e` (true LRU) allows them
 * (writes only if `writeOk`), from record `i`. @returns the first record that is not one
 */
function memoRun(i: u32, end: u32, cpu: u32, vpn: u64, e: usize, writeOk: bool): u32 {
  const base = traceBase;
  const start = i;
  const pageBase = vpn << 12;
  // Bytes 8..15 of a record as one u64: size u8, kind u8, cpu u16, reserved u32. A record of the
  // run has kind REC_USER (or REC_USER | REC_WRITE when writes are allowed), CPU `cpu` and
  // reserved 0: one masked compare. The size byte is tested with the page offset.
  const want: u64 = (<u64>REC_USER << 8) | (<u64>cpu << 16);
  const mask: u64 = writeOk ? ~(<u64>0xff | (<u64>REC_WRITE << 8)) : ~<u64>0xff;
  let writes: u32 = 0;
  // Four records per iteration while all four belong to the run (fewer loop-carried values for
  // V8 to keep across its per-iteration stack check), then one at a time to the first that does not.
  while (end - i >= 4) {
    const r = base + (<usize>i << 4);
    const m0 = load<u64>(r, 8), m1 = load<u64>(r, 24), m2 = load<u64>(r, 40), m3 = load<u64>(r, 56);
    const bad = memoMiss(m0, load<u64>(r) - pageBase, mask, want) | memoMiss(m1, load<u64>(r, 16) - pageBase, mask, want) |
      memoMiss(m2, load<u64>(r, 32) - pageBase, mask, want) | memoMiss(m3, load<u64>(r, 48) - pageBase, mask, want);
    if (bad != 0) break;
    writes += <u32>(((m0 >> 8) & 1) + ((m1 >> 8) & 1) + ((m2 >> 8) & 1) + ((m3 >> 8) & 1));
    i += 4;
  }
  for (; i < end; i++) {
    const r = base + (<usize>i << 4);
    const meta = load<u64>(r, 8);
    if (memoMiss(meta, load<u64>(r) - pageBase, mask, want) != 0) break;
    writes += <u32>(meta >> 8) & REC_WRITE;
  }
  const n = i - start;
  const tick = mTick + <u64>n;
  if (n != 0) store<u32>(stampOf(fD, e), <u32>tick);
  mTick = tick;
  const accesses = <u64>(n - writes) | (<u64>writes << PACK);
  fAccesses += accesses;
  fL1Hits += accesses;
  return i;
}

/**
 * fastRun's fetch: record `i` (a user fetch within one page) through the first L1 instruction
 * array. @returns 1 when it hit with rights to execute (counted, stamped, fTick advanced), 0 to
 * decline
 */
function fastFetch(i: u32, cpu: u32): u32 {
  const iL1 = fI;
  const vpn = load<u64>(traceBase + (<usize>i << 4)) >> 12;
  let e: usize = fMemoVpnI == vpn ? fMemoI : 0;
  if (e == 0) { if (iL1 == 0) return 0; e = arrayLookup(iL1, vpn, SIZE_4K, fPcid); if (e == 0) return 0; }
  if ((entryFlags(e) & (RIGHT_USER | RIGHT_NX)) != RIGHT_USER) return 0;
  const tick = fTick + 1;
  fTick = tick;
  arrayTouch(iL1, e, tick);
  fMemoVpnI = vpn; fMemoI = e;
  const one = <u64>1 << (<u64>REC_FETCH * PACK);
  fL1Hits += one;
  fAccesses += one;
  return 1;
}

/**
 * Whether fD and fL2 (single 4 KiB-only arrays with true LRU, 4-level paging) have the shape that
 * hitRun has a loop for: the custom preset's 64 × 4 L1 (16 sets) and 1,536 × 12 second level (128
 * sets), each laid out as arraySetup does (keys, entries, stamps back to back, so that hitRun keeps
 * one base per array). With 16 sets or more a tag key (vpn >> set shift, 32 bits) holds every vpn
 * bit above the set index up to bit 35, where a canonical 4-level address of the lower half (va <
 * 2^47) has a 0 and one of the upper half a 1 — so for such an address the key and the set
 * identify the entry alone, and hitRun reads no tag word.
 */
function hitShape(d1: usize, d2: usize): bool {
  return hitArray(d1, HIT_SETS1, HIT_WAYS1) && hitArray(d2, HIT_SETS2, HIT_WAYS2);
}

@inline const HIT_SETS1: u32 = MODEL_L1_SETS;
@inline const HIT_WAYS1: u32 = MODEL_L1_WAYS;
@inline const HIT_SETS2: u32 = MODEL_L2_SETS;
@inline const HIT_WAYS2: u32 = MODEL_L2_WAYS;

/** Whether array `d` has `sets` × `ways` (ways a multiple of 4) in arraySetup's layout. */
function hitArray(d: usize, sets: u32, ways: u32): bool {
  const keys = load<u32>(d + D_KEYS), n = sets * ways;
  return load<u32>(d + D_SETS) == sets && load<u32>(d + D_WAYS) == ways && load<u32>(d + D_WAYS_PADDED) == ways &&
    load<u32>(d + D_ENTRIES) == keys + (n << 2) && load<u32>(d + D_STAMPS) == keys + (n << 2) + (n << <u32>ENTRY_SHIFT_T);
}

/** Whether every valid entry of `d` carries PCID tag `pcid` (or there is none): hitRun's exact probe. */
@inline function hitTagOk(d: usize, pcid: u32): bool {
  const t = arrayOneTag(d);
  return t == pcid || t == TAG_NONE;
}

/** hitTagOk, claiming an empty array for `pcid` (arrayClaimTag). */
function hitClaim(d: usize, pcid: u32): bool {
  if (!hitTagOk(d, pcid)) return false;
  arrayClaimTag(d, pcid);
  return true;
}

/** hitRun's loop for the 4 × 12 shape (hitShape). */
function hitRun(i: u32, end: u32, cpu: u32): u32 {
  return hitLoop(i, end, cpu, HIT_SETS1, HIT_WAYS1, HIT_SETS2, HIT_WAYS2);
}

/**
 * The fast path's loop specialised for one L1 data array of `w1` ways and one second-level array
 * of `w2` (literals, so that the probes and the victim unroll), both true LRU and 4 KiB only, every
 * entry of the current PCID tag (fastRun checks arrayOneTag). It takes user reads and writes of
 * the lower half within one page, as fastRun's loop does with the same counts and stamps, but with
 * the arrays' geometry in locals and exact probes (setKeyHits): a key match is the entry, so no
 * tag word is read and a refill of L1 copies the second-level entry's data word alone. It stops
 * at the first record it does not take (see fastRun) or a fault fastMiss could not resolve
 * (fFault). @returns that record's index
 */
@inline function hitLoop(i: u32, end: u32, cpu: u32, sets1: u32, w1: u32, sets2: u32, w2: u32): u32 {
  // Geometry as literals (hitShape checked it): of each array only its base stays live.
  const shift1 = <u64>ctz(sets1), mask1 = sets1 - 1, shift2 = <u64>ctz(sets2), mask2 = sets2 - 1;
  const keys1 = <usize>load<u32>(fD + D_KEYS), keys2 = <usize>load<u32>(fL2 + D_KEYS);
  const ents1 = keys1 + (<usize>(sets1 * w1) << 2), stamps1 = ents1 + (<usize>(sets1 * w1) << ENTRY_SHIFT_T);
  const ents2 = keys2 + (<usize>(sets2 * w2) << 2), stamps2 = ents2 + (<usize>(sets2 * w2) << ENTRY_SHIFT_T);
  // The loop walks the records by address (fewer live values); record indices only for the calls.
  let r = traceBase + (<usize>i << 4);
  const rEnd = traceBase + (<usize>end << 4);
  // Bytes 8..11 of a record the loop takes: CPU `cpu`, kind REC_USER (| REC_WRITE), any size.
  const want = (cpu << 16) | (REC_USER << 8);
  let tick = fTick;
  let l1Hits: u64 = 0, l2Hits: u64 = 0;
  let memoVpn: u64 = 0xffff_ffff_ffff_ffff, memoE: usize = 0;
  while (r < rEnd) {
    if ((load<u64>(r) >> 12) == memoVpn) {
      mTick = tick;
      const uwd = RIGHT_USER | RIGHT_WRITE | RIGHT_DIRTY;
      r = traceBase + (<usize>memoRunFn(<u32>((r - traceBase) >> 4), end, cpu, memoVpn, memoE, (entryFlags(memoE) & uwd) == uwd) << 4);
      tick = mTick;
      if (r >= rEnd) break;
    }
    const meta = load<u32>(r, 8);   // size u8, kind u8, cpu u16
    const va = load<u64>(r);
    const vpn = va >> 12;
    // A user read or write (not implicit) of this CPU, within one page of the lower half.
    if (!hitKindOk(meta, want)) break;
    if (!hitOnePage(meta, va)) break;
    const k = <u64>(meta >> 8) & 1;   // REC_WRITE
    const one = <u64>1 << (k * PACK);
    const need: u32 = k != 0 ? RIGHT_USER | RIGHT_WRITE | RIGHT_DIRTY : RIGHT_USER;
    const first1 = (<u32>vpn & mask1) * w1;
    const key1 = <u32>(vpn >> shift1);
    const h1 = setKeyHits(keys1 + (<usize>first1 << 2), key1, w1);
    let e: usize;
    let f: u32;
    if (h1 != 0) {
      const x = first1 + ctz(h1);
      e = ents1 + (<usize>x << 4);
      f = load<u32>(e + E_FLAGS) >> E_FLAGS_SHIFT;
      if ((f & need) != need) break;
      store<u32>(stamps1 + (<usize>x << STAMP_SHIFT), <u32>++tick);
      l1Hits += one;
    } else {
      const first2 = (<u32>vpn & mask2) * w2;
      const h2 = setKeyHits(keys2 + (<usize>first2 << 2), <u32>(vpn >> shift2), w2);
      if (h2 == 0) {
        // A miss of both arrays: walk (it fills both with this PCID tag, so the probes stay exact).
        // Where walkUser applies, missRun walks this record and the misses after it in its own
        // loop; otherwise (or in the look-ahead's case, or on a decline) fastMiss, as always
        // (hitMissFn, chosen per CPU by replay()).
        fTick = tick;
        r = traceBase + (<usize>hitMissFn(<u32>((r - traceBase) >> 4), end, cpu) << 4);
        tick = fTick;
        if (fFault != XLAT_OK) break;
        memoVpn = 0xffff_ffff_ffff_ffff; memoE = 0;
        // A fault policy's flush may have emptied an array (TAG_NONE): claim it again, as the
        // refills below do not note their tag; any other tag (none is written here) ends the run.
        if (!hitClaim(fD, fPcid) || !hitClaim(fL2, fPcid)) break;
        continue;
      }
      const x2 = first2 + ctz(h2);
      const data = load<u64>(ents2 + (<usize>x2 << 4) + E_PFN);
      f = <u32>(data >> 40);
      if ((f & need) != need) break;
      store<u32>(stamps2 + (<usize>x2 << STAMP_SHIFT), <u32>++tick);
      // Refill L1 (arrayRefillLru): its least recently used way of vpn's set takes the data word.
      const x = first1 + oldestWay(stamps1 + (<usize>first1 << STAMP_SHIFT), w1);
      e = entryPlace(fD, keys1, ents1, stamps1, x, key1, tagWord(vpn, fPcid), data, tick);
      l2Hits += one;
    }
    memoVpn = vpn; memoE = e;
    r += 16;
  }
  fTick = tick;
  fAccesses += l1Hits + l2Hits;
  fL1Hits += l1Hits;
  fL2Hits += l2Hits;
  return <u32>((r - traceBase) >> 4);
}

/**
 * Run the fast path from record `i` while records belong to CPU `cpu` and hit; @returns the
 * index of the first record it did not complete. The loop handles data accesses that hit the
 * first L1 data array or refill it from the first second-level array; a run of accesses to the
 * page of the previous one goes to memoRun, fetches and misses of every array to fastFetch and
 * fastMiss, all out of line so that this loop keeps few live values.
 */
function fastRun(i: u32, end: u32, cpu: u32): u32 {
  if (end - i > FAST_RUN_MAX) end = i + FAST_RUN_MAX;
  const base = traceBase;
  const dL1 = fD, l2 = fL2, pcid = fPcid;
  const lruD = dL1 != 0 && load<u32>(dL1 + D_POLICY) == POLICY_LRU;
  fMemoVpnI = 0xffff_ffff_ffff_ffff; fMemoI = 0;
  fEnd = end;
  // The clock stays below 2^32 (stamps are u32: mmu/tlbclock.ts); a run advances it by at most a few ticks per record.
  fTick = cpuClock(fCpu, fTick);
  let accesses: u64 = 0, l1Hits: u64 = 0, l2Hits: u64 = 0;
  if (fHit && hitClaim(dL1, pcid) && hitClaim(l2, pcid)) {
    i = hitRunFn(i, end, cpu);
    // It stops at a record it does not take (a fetch, a clean entry, another CPU, …): the loop
    // below goes on from there, or the fault goes back to replay().
    if (i >= end || fFault != XLAT_OK) return i;
  }
  let tick = fTick;
  let memoVpnD: u64 = 0xffff_ffff_ffff_ffff, memoD: usize = 0;
  let memoWrite = false;  // the memo entry also allows writes (U, W and D set)
  while (i < end) {
    if (lruD && memoD != 0 && (load<u64>(base + (<usize>i << 4)) >> 12) == memoVpnD) {
      // Only when the next record is on the memo page: on random traces the call (through the
      // table) would cost more than the record.
      mTick = tick;
      i = memoRunFn(i, end, cpu, memoVpnD, memoD, memoWrite);
      tick = mTick;
      if (i >= end) break;
    }
    const r = base + (<usize>i << 4);
    const kind = <u32>load<u8>(r, 9);
    if (<u32>load<u16>(r, 10) != cpu || (kind & (REC_USER | REC_IMPLICIT | 3)) > (REC_USER | REC_FETCH) ||
      (kind & REC_USER) == 0) break;
    const va = load<u64>(r);
    const size = <u32>load<u8>(r, 8);
    const vpn = va >> 12;
    if (((va + <u64>(size == 0 ? 0 : size - 1)) >> 12) != vpn) break;
    const k = kind & 3;
    if (k == REC_FETCH) {
      fTick = tick;
      if (fastFetchFn(i, cpu) == 0) break;
      tick = fTick;
      i++;
      continue;
    }
    const one = <u64>1 << (<u64>k * PACK);
    const need: u32 = k == REC_WRITE ? RIGHT_USER | RIGHT_WRITE | RIGHT_DIRTY : RIGHT_USER;
    if (dL1 == 0) break;
    let e = arrayLookup(dL1, vpn, SIZE_4K, pcid);
    if (e == 0) {
      // L1 miss: with single 4 KiB-only arrays (fL2 ≠ 0) that is a miss of the whole L1.
      if (l2 == 0) break;
      const e2 = arrayLookup(l2, vpn, SIZE_4K, pcid);
      if (e2 == 0) {
        // A miss of every array: walk from here.
        fTick = tick;
        const st = fastMissFn(i, cpu);
        tick = fTick;
        if (st != XLAT_OK) { fFault = st; break; }
        memoD = 0; memoVpnD = 0xffff_ffff_ffff_ffff;
        i++;
        continue;
      }
      const f = entryFlags(e2);
      // A splinter of a larger page refills L1 as itself: fL2 is set only when L1 holds 4 KiB
      // entries alone, where roleFill would split the page into the same piece.
      if ((f & need) != need) break;
      arrayTouch(l2, e2, ++tick);
      e = lruD ? arrayRefillLru(dL1, vpn, pcid, e2, tick) : arrayFillAbsent(dL1, vpn, entryPfn(e2), pcid, f, tick);
      l2Hits += one;
    } else {
      if ((entryFlags(e) & need) != need) break;
      arrayTouch(dL1, e, ++tick);
      l1Hits += one;
    }
    const f = entryFlags(e);
    memoVpnD = vpn; memoD = e;
    memoWrite = (f & (RIGHT_USER | RIGHT_WRITE | RIGHT_DIRTY)) == (RIGHT_USER | RIGHT_WRITE | RIGHT_DIRTY);
    accesses += one;
    i++;
  }
  fTick = tick;
  fAccesses += accesses;
  fL1Hits += l1Hits;
  fL2Hits += l2Hits;
  return i;
}

/**
 * Replay records [start, end) of the batch buffer. @returns the index where it stopped (see the
 * status word); `end` when every record completed.
 */
export function replay(start: u32, end: u32): u32 {
  if (end > traceCapacity) end = traceCapacity;
  // Once per call, not per record: stamping (stats/stamps.ts) runs its own loop.
  if (stOn) { const i = replayStamped(traceBase, start, end); replayStatus = stampedStatus; return i; }
  // The look-ahead's marks hold for this call's records, across the fast runs a resolved fault
  // or a CPU switch separates: a fault every few dozen records would otherwise read the same
  // records ahead again after each one.
  touchedTo = 0; lastMiss = 0xffff_fffe;
  let cur: u32 = 0xffff_ffff;
  let c: usize = 0;
  let ctr: usize = 0;
  let fastOk = false;
  let i = start;
  while (i < end) {
    const r = traceBase + (<usize>i << 4);
    const cpu = <u32>load<u16>(r, 10);
    if (cpu != cur) {
      if (cur != 0xffff_ffff) flush(c, ctr);
      if (cpu >= numCpus) { replayStatus = REPLAY_BAD_RECORD; return i; }
      cur = cpu;
      c = cpuPtr(cpu);
      ctr = counterBlock(cpu);
      fCpu = c;
      fCtr = ctr;
      fTick = load<u64>(c + CPU_TICK);
      const cr4 = load<u64>(c + CPU_CR4);
      fCr4 = cr4;
      fPcid = (cr4 & CR4_PCIDE) != 0 ? <u32>(load<u64>(c + CPU_CR3) & CR3_PCID_MASK) : 0;
      // The fast path logs no events, looks no data up in the caches and walks in one dimension:
      // with the event ring on, the cache hierarchy in mode "all", or in a guest (nested walks are
      // the full walker's, mmu/nested.ts), every record takes the full path.
      fastOk = (cr4 & CR4_PKE) == 0 && !evOn && !cacheData && !inGuest(c);
      fD = fastArray(c, nItlb, nDtlb);
      fI = fastArray(c, 0, nItlb);
      const l2 = fastArray(c, nItlb + nDtlb, nStlb);
      fL2 = nDtlb == 1 && nStlb == 1 && fD != 0 && l2 != 0 && load<u32>(fD + D_SIZES) == 1 && load<u32>(l2 + D_SIZES) == 1 ? l2 : 0;
      const lru = fL2 != 0 && load<u32>(fL2 + D_POLICY) == POLICY_LRU && load<u32>(fD + D_POLICY) == POLICY_LRU;
      fL2Lru = lru ? fL2 : 0;
      fDLru = lru ? fD : 0;
      fWalkUser = walkUserSetup(c, cr4) && lru;   // (setup first: it also resets walkUserLast2m)
      fHit = lru && (cr4 & CR4_LA57) == 0 && hitShape(fD, fL2);
      // hitLoop's misses: walked in missRun's loop where fastMiss would take walkUser (missRunCached
      // with the hierarchy on walks; fastOk has it off data).
      hitMissFn = fWalkUser ? (cacheWalks ? missRunCached : missRun) : missOne;
    }
    if (fastOk) {
      fFault = XLAT_OK;
      i = fastRun(i, end, cpu);
      // Unpack now: the packed counts hold at most 2^21 - 1 per kind (fastRun stops at 2^19 records,
      // two accesses each at most).
      flushCounts(ctr);
      if (fFault != XLAT_OK) {
        // A fault the registered policy could not resolve (fastMiss counted it and asked).
        flush(c, ctr);
        replayStatus = REPLAY_FAULT;
        return i;
      }
      if (i >= end) break;
      if (<u32>load<u16>(traceBase + (<usize>i << 4), 10) != cpu) continue;
    }
    // Full path for record i: hand the CPU's clock back to memory around it.
    if (evOn && !evRoom()) { flush(c, ctr); replayStatus = REPLAY_EVENTS_FULL; return i; }
    const rec = traceBase + (<usize>i << 4);
    const va = load<u64>(rec);
    const size = <u32>load<u8>(rec, 8);
    const kind = <u32>load<u8>(rec, 9);
    if ((kind & 3) == 3) { replayStatus = REPLAY_BAD_RECORD; flush(c, ctr); return i; }
    store<u64>(c + CPU_TICK, fTick);
    const acc = accessFlags(kind);
    const last = va + <u64>(size == 0 ? 0 : size - 1);
    let st = tlbTranslate(cpu, va, acc);
    if (st == XLAT_OK && ((va ^ last) >> 12) != 0) {
      count(ctr, Counter.REPLAY_STRADDLE);
      st = tlbTranslate(cpu, last & ~<u64>0xfff, acc);
    }
    fTick = load<u64>(c + CPU_TICK);
    if (st != XLAT_OK) {
      const next = resolveFault(c);
      if (next != 2) { i += next; continue; }
      flush(c, ctr);
      replayStatus = REPLAY_FAULT;
      return i;
    }
    if (cacheData) dataRef(cpu, c, ctr, kind);
    i++;
  }
  if (cur != 0xffff_ffff) flush(c, ctr);
  replayStatus = REPLAY_DONE;
  return i;
}

@inline function unpack(v: u64, k: u64): u64 {
  return (v >> (k * PACK)) & ((<u64>1 << PACK) - 1);
}

/** Write the fast path's counts and clock back to the CPU's record and counter block. */
function flush(c: usize, ctr: usize): void {
  store<u64>(c + CPU_TICK, fTick);
  flushCounts(ctr);
}

/** Add the fast path's packed counts to the counter block and clear them. */
function flushCounts(ctr: usize): void {
  flushMissCounts(ctr);
  const a = fAccesses, h = fL1Hits, s = fL2Hits;
  fAccesses = 0; fL1Hits = 0; fL2Hits = 0;
  if (a == 0) return;
  const latL1 = <u64>load<u32>(latencyBase + LAT_L1_HIT);
  const latL2 = <u64>load<u32>(latencyBase + LAT_STLB_HIT);
  const latBase = <u64>load<u32>(latencyBase + LAT_BASE_ACCESS);
  countN(ctr, Counter.ACCESS_LOAD, unpack(a, 0));
  countN(ctr, Counter.ACCESS_STORE, unpack(a, 1));
  countN(ctr, Counter.ACCESS_FETCH, unpack(a, 2));
  const hitD = unpack(h, 0) + unpack(h, 1);
  const hitI = unpack(h, 2);
  countN(ctr, Counter.TLB_L1D_HIT, hitD);
  countN(ctr, Counter.TLB_L1I_HIT, hitI);
  countN(ctr, Counter.TLB_L1_HIT_4K, hitD + hitI);
  countN(ctr, Counter.DTLB_LOAD_STLB_HIT, unpack(s, 0));
  countN(ctr, Counter.DTLB_LOAD_STLB_HIT_4K, unpack(s, 0));
  countN(ctr, Counter.DTLB_STORE_STLB_HIT, unpack(s, 1));
  countN(ctr, Counter.DTLB_STORE_STLB_HIT_4K, unpack(s, 1));
  const l2 = unpack(s, 0) + unpack(s, 1);
  countN(ctr, Counter.TLB_FILL, l2);
  const hits = hitD + hitI;
  countN(ctr, Counter.CYCLES, hits * (latL1 + latBase) + l2 * (latL1 + latL2 + latBase));
  countN(ctr, Counter.CYCLES_TRANSLATION, hits * latL1 + l2 * (latL1 + latL2));
}
