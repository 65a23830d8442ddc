// The replay fast path's miss path: a record that misses every array it may use is walked and
// filled here (fastMiss: walkUser, else the reference walker in fastMissRef; a demand fault that
// walkUser stopped at, fastAbsent), runs of such misses on the issue #17 shape in one loop
// (missRun), and the look-ahead that puts the next records' PTE loads in flight (touchAhead).
// Split from loop.ts, which calls in through the tables below; the state both share is fast.ts's.
//
// Owns: the look-ahead's scratch and sink, the miss path's function tables, missRun's walk count.
import { CPU_CR3, CPU_TICK } from "../abi/layout";
import { CR4_LA57 } from "../arch/x86/regs";
import { maxPhyAddr } from "../arch/x86/cpu";
import { XLAT_OK, XLAT_PF } from "../arch/x86/fault";
import { resolveFault, resolveNotPresent, demandLeaf } from "./faultpolicy";
import { ACC_WRITE, ACC_USER } from "../mmu/rights";
import { tlbTranslate, walkAndFill, walkAndFillUser, walkAndFillUserAgain, walkAndFillUserUncounted, addMissCounts, addMissActive } from "../mmu/access";
import { walkUserLast2m, WALK_USER_READ, WALK_USER_AD, walkUserAbsentPte, walkUserAbsentFault, walkUserAgainOk, walkUserRefCycles } from "../mmu/walkuser";
import { isCanonical } from "../mmu/walk";
import {
  cpuFlushAddress, cpuFlushMayDrop, latencyBase, LAT_L1_HIT, LAT_STLB_HIT, LAT_BASE_ACCESS, LAT_WALK_MEM_REF, LAT_AD_UPDATE, LAT_FAULT,
} from "../mmu/tlb";
import { arrayOneTag, victimShaped, D_SPLINTERS, D_KEYS, setKeyHits, MODEL_L1_SETS, MODEL_L1_WAYS, MODEL_L2_SETS, MODEL_L2_WAYS } from "../mmu/tlbarray";
import { entryLoadLimit, ramBase } from "../phys/ram";
import { physMask, levelIndex, PTE_ADDR_FIELD, ENTRY_SHIFT, PAGE_PSE } from "../arch/x86/pgtable";
import { count, countPair, Counter } from "../stats/counters";
import { REPLAY_LOOKAHEAD } from "../tunables";
import { REC_READ, REC_WRITE, REC_USER } from "../abi/records";
import { cacheWalks, cacheTouchAhead } from "../mmu/cache";
import {
  traceBase, fCpu, fD, fL2, fL2Lru, fDLru, fWalkUser, fHit, fCr4, fCtr, fFault, fPcid, fTick, fAccesses, PACK,
  fMemoVpnI, fMemoI, touchedTo, lastMiss, fEnd, hitKindOk, hitOnePage,
} from "./fast";

/**
 * The miss path's entry points, called through tables: kept out of line, their code and values
 * stay out of the callers' loops (fastRun, hitLoop). Set by missSetup.
 */
export let fastMissFn: (i: u32, cpu: u32) => u32 = rareStub;
let fastMissRefFn: (i: u32, cpu: u32) => u32 = rareStub;
let fastAbsentFn: (i: u32, cpu: u32) => u32 = rareStub;

function rareStub(i: u32, cpu: u32): u32 {
  return 0 * (i + cpu);
}

/** Fill the miss path's tables (replaySetup). */
export function missSetup(): void {
  fastMissFn = fastMiss;
  fastMissRefFn = fastMissRef;
  fastAbsentFn = fastAbsent;
}

/**
 * Walks at most this many records apart make a run of walks worth reading ahead for: on a hot
 * set with excursions over gigabytes (a walk every ten records or so, each waiting for memory)
 * as well as on random pages (a walk every record); not on a sequential stream (a walk per 128
 * records) or a set that fits the second level.
 */
@inline const MISS_RUN_GAP: u32 = 16;
/** Sum of the entries touchAhead read: stored so that the reads are not optimised away. */
let touchSink: u64 = 0;

/**
 * Read the last-level paging-structure entry (the PTE, for 4 KiB pages) of records [from,
 * from + REPLAY_LOOKAHEAD) — with `filter`, of the next AHEAD_FILTERED records from `from`
 * whose page the L1 does not hold (see below) — under the current CR3, and nothing else: no
 * checks, no A/D, no counts. The model sees nothing of it; its purpose is the host's
 * memory-level parallelism. A
 * trace that walks on every access (random pages over gigabytes) spends most of its time
 * waiting for the PTE load, which misses the host's caches; a native build's out-of-order core
 * overlaps that wait with the next accesses' walks, but the Wasm miss path is too long for the
 * next walk to enter the instruction window while the load is outstanding. Issuing the next
 * records' PTE loads here, in one short loop, puts them in flight together; their walks then
 * find the lines in the cache.
 * The loop is as short as it can be, because how many loads are in flight at once is the
 * host's reorder window divided by the instructions per record: the descent tests neither P nor
 * PS above the PDE (a not-present or large entry just makes it read some other entry), stops at
 * a 2 MiB PDE (a select, no branch) and only keeps every address inside RAM (full mode), so a
 * record costs a few instructions per level.
 */
function touchAhead(from: u32, filter: bool): void {
  const limit = entryLoadLimit;
  if (limit == 0) return;   // tables-only: entries are found through a hash, no single load to start
  const ram = ramBase;
  const root = load<u64>(fCpu + CPU_CR3) & physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  const five = (fCr4 & CR4_LA57) != 0;
  const addrMask = physMask(maxPhyAddr) & PTE_ADDR_FIELD;
  let sink: u64 = 0;
  // Two passes: the descents to each record's last-level table (upper levels: a few lines, hot
  // in the cache) first, then the last-level loads back to back, so that they all go out together.
  const slots = aheadSlots;
  let m: u32 = 0;
  let j = from;
  if (fHit && filter) {
    // With hitRun's L1 shape (fHit: 16 sets × 4 ways, tag key vpn >> 4) and `filter` (the walks
    // are not on consecutive records), a record whose page the L1 holds will not walk: on a hot
    // set with excursions (nine records in ten) its descent would cost more than the one compare
    // that skips it. The scan goes on until it has AHEAD_FILTERED entries to read (up to
    // AHEAD_SCAN times as many records). A guess only — the model sees none of this.
    const keys1 = <usize>load<u32>(fD + D_KEYS);
    const want = cacheWalks ? REPLAY_LOOKAHEAD : AHEAD_FILTERED;
    const to = min(from + want * AHEAD_SCAN, fEnd);
    // Branch-free: each record's index goes into the next slot, which only a miss keeps (m + 1).
    // Whether a record of a hot set with excursions misses is what a branch would mispredict,
    // once per excursion; the descents follow in a loop of their own over the kept records.
    for (; j < to && m < want; j++) {
      const vpn = load<u64>(traceBase + (<usize>j << 4)) >> 12;
      const h = setKeyHits(keys1 + (<usize>((<u32>vpn & (MODEL_L1_SETS - 1)) * MODEL_L1_WAYS) << 2), <u32>(vpn >> 4), MODEL_L1_WAYS);
      store<u32>(slots + (<usize>m << 2), j);
      m += <u32>(h == 0);
    }
    for (let k: usize = 0, n = <usize>m; k < n; k++) {
      const va = load<u64>(traceBase + (<usize>load<u32>(slots + (k << 2)) << 4));
      store<usize>(slots + (k << 2), aheadLeaf(root, va, five, addrMask, limit, ram));
    }
  } else {
    const to = min(from + REPLAY_LOOKAHEAD, fEnd);
    for (; j < to; j++) {
      store<usize>(slots + (<usize>(j - from) << 2), aheadLeaf(root, load<u64>(traceBase + (<usize>j << 4)), five, addrMask, limit, ram));
    }
    m = j - from;
  }
  for (let k: usize = 0, n = <usize>m; k < n; k++) sink += load<u64>(load<usize>(slots + (k << 2)));
  if (cacheWalks) sink += cacheTouchAhead(slots, m, ram);   // the caches' records for these entries (mmu/cache.ts)
  touchedTo = j;
  touchSink = sink;
}

/**
 * touchAhead's descent for `va` from the top-level table at `root`: the host address of its
 * last-level entry (a 2 MiB leaf's PDE ends the descent: reading on into the page's data as if it
 * were a table would fetch a random line of it for nothing), every address kept inside RAM.
 */
@inline function aheadLeaf(root: u64, va: u64, five: bool, addrMask: u64, limit: u64, ram: usize): usize {
  let table = root;
  if (five) table = aheadEntry(table, va, 5, limit, ram) & addrMask;
  table = aheadEntry(table, va, 4, limit, ram) & addrMask;
  table = aheadEntry(table, va, 3, limit, ram) & addrMask;
  const pdePa = table + (levelIndex(va, 2) << ENTRY_SHIFT);
  const pde = load<u64>(ram + <usize>(pdePa < limit ? pdePa : 0));
  const ptePa = (pde & addrMask) + (levelIndex(va, 1) << ENTRY_SHIFT);
  const pa = select<u64>(pdePa, ptePa, (pde & PAGE_PSE) != 0);
  return ram + <usize>(pa < limit ? pa : 0);
}

/**
 * How many last-level entries a filtered touchAhead reads with the hierarchy off walks (with it
 * on, REPLAY_LOOKAHEAD, as the caches' look-ahead was tuned). Not for the host's memory-level
 * parallelism, which 32 loads already fill: the second pass's sum waits for the last of its
 * loads, and once the reorder window is full the core stalls on the slowest of them, one DRAM
 * latency per call. On a hot set with excursions every tenth record a call per 32 excursions cost
 * that stall every ~320 records; one per 256, every ~2,500 (hot ×1.03–1.04, 2^24, issue #17).
 */
@inline const AHEAD_FILTERED: u32 = 256;
/** How many times the entries wanted a filtered touchAhead may scan records to find them. */
@inline const AHEAD_SCAN: u32 = 8;
/** touchAhead's addresses of the last-level entries, between its two passes. */
const aheadSlots: usize = memory.data(<i32>AHEAD_FILTERED * 4, 16);   // AHEAD_FILTERED ≥ REPLAY_LOOKAHEAD entries

/** touchAhead's read of the entry for `va` at `level` of `table`: an entry outside RAM reads as 0. */
@inline function aheadEntry(table: u64, va: u64, level: u32, limit: u64, ram: usize): u64 {
  const pa = table + (levelIndex(va, level) << ENTRY_SHIFT);
  return load<u64>(ram + <usize>(pa < limit ? pa : 0));
}

/**
 * fastRun's miss of every array for record `i` (a user read or write within one page): walk and
 * fill (the same miss path as access.ts), advancing fTick. When the previous record walked too
 * and no look-ahead covers `i`, first touch the PTEs of `i` and the records after it
 * (touchAhead). A fault goes to the registered policy (faultpolicy.ts) right here, as replay()
 * would send it after leaving the fast path: a skipped record is done, a mapped one walks again
 * (a new tick, as a second trip through fastRun would give it), and only a fault the host must
 * decide stops the run — so a demand fault costs no exit from and re-entry into fastRun, no
 * flush of its counts and no second L1 and second-level lookup that can only miss.
 * @returns XLAT_OK (the record completed or was skipped; counted), or the status of a fault
 * the host must decide (the access counted, the policy already asked)
 */
function fastMiss(i: u32, cpu: u32): u32 {
  const r = traceBase + (<usize>i << 4);
  const va = load<u64>(r);
  const k = <u32>load<u8>(r, 9) & 3;
  // Only in a run of walks (random pages over a large footprint): on traces whose walks are
  // rare (hot set, sequential) the records after a walk mostly hit, and reading ahead would cost.
  // Not while the walks end at 2 MiB leaves (walkUser's last): a PDE maps 512 times the memory
  // of a PTE, so the leaves of a footprint stay in the host's caches (16 GiB: 64 KiB of PDEs),
  // and reading them ahead cost 8 % on such a trace for nothing.
  // Walks on consecutive records (random pages): nearly every record ahead walks too, so the
  // look-ahead reads them all without asking the L1 first.
  if (aheadDue(i)) touchAhead(i, i - lastMiss > 1);
  lastMiss = i;
  if (fWalkUser) {
    // The specialised walk (mmu/walkuser.ts): no store to the CPU record, no walk record; on a
    // decline (a fault, a 1 GiB page, a non-canonical address…) the reference walks at the
    // same tick. One copy for reads and writes: the function stays small.
    const tick = fTick + 1;
    const translation = <u64>load<u32>(latencyBase + LAT_L1_HIT) + <u64>load<u32>(latencyBase + LAT_STLB_HIT);
    const st = walkAndFillUser(cpu, load<u64>(fCpu + CPU_CR3), va, k == REC_WRITE, k, fPcid, tick, translation,
      <u64>load<u32>(latencyBase + LAT_WALK_MEM_REF), fL2Lru, fDLru, fCtr, fHit);
    if (st == XLAT_OK) {
      fTick = tick;
      fAccesses += <u64>1 << (<u64>k * PACK);
      return st;
    }
    return declined(i, cpu);
  }
  return fastMissRefFn(i, cpu);
}

/**
 * Whether record `i`'s miss starts a look-ahead (touchAhead): in a run of walks (the previous
 * walk at most MISS_RUN_GAP records back) past what the last look-ahead covered, and not while
 * the walks end at 2 MiB leaves (see fastMiss).
 */
@inline function aheadDue(i: u32): bool {
  return i >= touchedTo && i - lastMiss <= MISS_RUN_GAP && !walkUserLast2m;
}

/**
 * Record `i`, whose walkUser walk just declined at the same tick: a stop at a not-present PTE (a
 * demand fault; caches off) to fastAbsent, which records it without walking again; anything else
 * to the reference (fastMissRef). fastMiss's and missRun's hand-over. @returns as fastMiss
 */
@inline function declined(i: u32, cpu: u32): u32 {
  return walkUserAbsentPte != 0 && !cacheWalks ? fastAbsentFn(i, cpu) : fastMissRefFn(i, cpu);
}

/**
 * fastMiss through the reference walker (walk.ts, lean), out of line (called through the table,
 * so that its two inlined walks do not weigh on fastMiss's registers): every miss outside
 * walkUser's configuration, and every walk walkUser declined — but a stop at a not-present PTE
 * (walkUserAbsentPte, caches off), which fastAbsent takes — and the retry of a mapped record
 * whose walkUser walk declined (fastAbsent). A non-canonical address is #GP(0)
 * with no TLB lookup and no walk (SDM §3.3.7.1): tlbTranslate — the reference — decides and
 * counts it (the access, the fault, its cycles; the lean walk would count a walk). Faults then go
 * to the registered policy (see fastMiss). @returns as fastMiss
 */
function fastMissRef(i: u32, cpu: u32): u32 {
  const r = traceBase + (<usize>i << 4);
  const va = load<u64>(r);
  const k = <u32>load<u8>(r, 9) & 3;
  const one = <u64>1 << (<u64>k * PACK);
  if (!isCanonical(va, fCr4)) {
    store<u64>(fCpu + CPU_TICK, fTick);
    const st = tlbTranslate(cpu, va, k == REC_WRITE ? ACC_WRITE | ACC_USER : ACC_USER);
    fTick = load<u64>(fCpu + CPU_TICK);
    if (st == XLAT_OK) return st;
    return resolveFault(fCpu) == 1 ? XLAT_OK : st;
  }
  const latL1 = <u64>load<u32>(latencyBase + LAT_L1_HIT);
  const latL2 = <u64>load<u32>(latencyBase + LAT_STLB_HIT);
  const latBase = <u64>load<u32>(latencyBase + LAT_BASE_ACCESS);
  let retry = false;
  while (true) {
    if (retry && fWalkUser) {
      // The policy mapped the page (a demand fault): the walk again is walkUser's, as a second
      // trip through fastMiss would make it.
      const tick = fTick + 1;
      const st = walkAndFillUser(cpu, load<u64>(fCpu + CPU_CR3), va, k == REC_WRITE, k, fPcid, tick, latL1 + latL2,
        <u64>load<u32>(latencyBase + LAT_WALK_MEM_REF), fL2Lru, fDLru, fCtr);
      if (st == XLAT_OK) {
        fTick = tick;
        fAccesses += one;
        return st;
      }
    }
    retry = true;
    const tick = fTick + 1;
    fTick = tick;
    store<u64>(fCpu + CPU_TICK, tick);
    // One inlined copy per kind, so the access flags are constants in the walk's rights checks.
    const st = k == REC_WRITE
      ? walkAndFill(cpu, fCpu, fCtr, va, ACC_WRITE | ACC_USER, REC_WRITE, fPcid, fCr4, tick, false, latL1 + latL2, latBase, fL2Lru, fDLru, true)
      : walkAndFill(cpu, fCpu, fCtr, va, ACC_USER, REC_READ, fPcid, fCr4, tick, false, latL1 + latL2, latBase, fL2Lru, fDLru, true);
    // The faulting access is counted like every access the full path sees.
    fAccesses += one;
    if (st == XLAT_OK) return st;
    // The #PF invalidated va in every array (§4.10.4.1), the instruction TLB's too: drop the fetch memo.
    fMemoVpnI = 0xffff_ffff_ffff_ffff; fMemoI = 0;
    const next = resolveFault(fCpu);
    if (next == 1) return XLAT_OK;
    if (next != 0) return st;
  }
}

/**
 * fastMiss's record `i` whose walk walkUser declined at a not-present PTE (walkUserAbsentPte;
 * caches off), out of line and apart from fastMissRef (whose inlined reference walks make its
 * every call dear): the fault as the reference would count it (absentFault), the registered
 * policy (faultpolicy.ts resolveNotPresent, told the PTE), and for a mapped record the walk
 * again at a new tick, walkUser's, as fastMissRef retries. Should that walk decline, fastMissRef
 * takes the record (its first walk is the same retry, through the reference walker).
 * @returns as fastMiss
 */
function fastAbsent(i: u32, cpu: u32): u32 {
  const r = traceBase + (<usize>i << 4);
  const va = load<u64>(r);
  const k = <u32>load<u8>(r, 9) & 3;
  const one = <u64>1 << (<u64>k * PACK);
  const translation = <u64>load<u32>(latencyBase + LAT_L1_HIT) + <u64>load<u32>(latencyBase + LAT_STLB_HIT);
  const st = absentFault(va, k, translation, <u64>load<u32>(latencyBase + LAT_BASE_ACCESS));
  fAccesses += one;
  const next = resolveNotPresent(fCpu, va, walkUserAbsentPte);
  if (next == 1) return XLAT_OK;
  if (next != 0) return st;
  const tick = fTick + 1;
  // The walk again: from the entries the declined walk read and the leaf just written, when the
  // policy wrote only that PTE (demandLeaf), else walkUser's from CR3.
  const write = k == REC_WRITE;
  const refCycles = <u64>load<u32>(latencyBase + LAT_WALK_MEM_REF);
  const leaf = demandLeaf;
  const again = leaf != 0 && walkUserAgainOk(leaf, write)
    ? walkAndFillUserAgain(va, write, k, fPcid, tick, translation, refCycles, fL2Lru, fDLru, fCtr, leaf, fHit)
    : walkAndFillUser(cpu, load<u64>(fCpu + CPU_CR3), va, write, k, fPcid, tick, translation, refCycles, fL2Lru, fDLru, fCtr, fHit);
  if (again == XLAT_OK) {
    fTick = tick;
    fAccesses += one;
    return again;
  }
  return fastMissRefFn(i, cpu);
}

/**
 * fastAbsent's fault for a user read (k = REC_READ) or write of `va` that walkUser declined at a
 * not-present PTE (walkuser.ts walkUserAbsentPte; caches off): what the lean reference walk and
 * walkAndFillLean would do with it, at the next tick. walkUserAbsentFault writes the result
 * record, walk entries, CR2 and fault counts; the lean walk's own counts — the walk started,
 * four entries read, translation cycles `translation` (L1 and second-level latencies) + four
 * memory references + the fault, and the access's base cycles `latBase` — go straight to the
 * counter block (walkAndFillLean sums them for flushMissCounts, which adds the same numbers).
 * The #PF invalidates va in every TLB and PSC of the current PCID (SDM §4.10.4.1), the ITLB
 * too: the fetch memo goes. @returns XLAT_PF
 */
@inline function absentFault(va: u64, k: u32, translation: u64, latBase: u64): u32 {
  const c = fCpu, ctr = fCtr;
  const tick = fTick + 1;
  fTick = tick;
  store<u64>(c + CPU_TICK, tick);
  walkUserAbsentFault(c, ctr, va, k == REC_WRITE);
  const t = translation + 4 * <u64>load<u32>(latencyBase + LAT_WALK_MEM_REF) + <u64>load<u32>(latencyBase + LAT_FAULT);
  countPair(ctr, Counter.WALK_STARTED, 1, 4);   // and WALK_MEM_REF
  count(ctr, k == REC_WRITE ? Counter.DTLB_STORE_WALK : Counter.DTLB_LOAD_WALK);
  countPair(ctr, Counter.CYCLES, t + latBase, t);   // and CYCLES_TRANSLATION
  // fD and fL2 (4 KiB entries only) have just missed va's page for fPcid: when every entry of one
  // carries fPcid's tag (hitRun's exact probes) and none is a splinter of a larger page, it holds
  // no entry for the page, and its flush would drop nothing.
  // The call is skipped when no array but those two holds anything (a data trace's ITLB) and there
  // are no PSCs: it would only look (cpuFlushMayDrop).
  const pcid = fPcid;
  const clearA = clearOf(fD, pcid), clearB = clearOf(fL2, pcid);
  if (cpuFlushMayDrop(c, clearA, clearB)) cpuFlushAddress(c, va, pcid, true, false, clearA, clearB);
  count(ctr, Counter.TLB_FLUSH_PAGE);
  fMemoVpnI = 0xffff_ffff_ffff_ffff; fMemoI = 0;
  return XLAT_PF;
}

/** `d` when its exact probe for the current page just missed (one tag, `pcid`; no splinter), else 0: absentFault's flush skips it. */
@inline function clearOf(d: usize, pcid: u32): usize {
  return arrayOneTag(d) == pcid && load<u32>(d + D_SPLINTERS) == 0 ? d : 0;
}

/** hitLoop's miss of record `i` outside missRun's configuration: fastMiss. @returns as hitMissFn */
export function missOne(i: u32, end: u32, cpu: u32): u32 {
  const st = fastMissFn(i, cpu + 0 * end);
  if (st != XLAT_OK) { fFault = st; return i; }
  return i + 1;
}

/** missRun for the 4 × 12 shape (hitShape), the hierarchy off walks. */
export function missRun(i: u32, end: u32, cpu: u32): u32 {
  return missLoop(i, end, cpu, MODEL_L1_SETS, MODEL_L1_WAYS, MODEL_L2_SETS, MODEL_L2_WAYS, false);
}

/** missRun with the cache hierarchy on walks (and off data: the fast path's condition). */
export function missRunCached(i: u32, end: u32, cpu: u32): u32 {
  return missLoop(i, end, cpu, MODEL_L1_SETS, MODEL_L1_WAYS, MODEL_L2_SETS, MODEL_L2_WAYS, true);
}

/**
 * hitLoop's run of misses (issue #17 trace (e): random pages over a footprint far beyond the
 * second level): record `i`, which hitLoop took and found in neither array, and the records after
 * it that hitLoop would take and that miss both arrays too, each walked by walkUser and filled
 * (walkAndFillUser, the same walk, fills, ticks and counts as fastMiss's) in this loop, with the
 * tick and the access counts in locals — instead of one call through the table from hitLoop to
 * fastMiss per record. Runs only where fastMiss would take walkUser (replay() sets hitMissFn to
 * missRun then, or with the hierarchy on walks to missRunCached: `cached`, a constant, whose walks
 * look their entries up in CPU `cpu`'s caches and cost walkUserRefCycles, also summed per kind
 * for walk_active, as walkAndFillUserCached counts them). A record whose miss fastMiss would
 * start with the look-ahead (touchAhead's condition, unchanged; with the hierarchy on it also
 * reads the caches' records ahead) goes to fastMiss, and a walk walkUser declines is handed on at the same
 * tick as fastMiss hands it on (declined); either ends the run (a fault policy may have flushed the arrays:
 * hitLoop claims their tags again). @returns the first record not completed: one that hits or
 * that hitLoop would not take (hitLoop decides it), or a fault the host must decide (fFault set)
 */
@inline function missLoop(i: u32, end: u32, cpu: u32, sets1: u32, w1: u32, sets2: u32, w2: u32, cached: bool): u32 {
  const shift1 = <u64>ctz(sets1), mask1 = sets1 - 1, shift2 = <u64>ctz(sets2), mask2 = sets2 - 1;
  const keys1 = <usize>load<u32>(fD + D_KEYS), keys2 = <usize>load<u32>(fL2 + D_KEYS);
  const translation = <u64>load<u32>(latencyBase + LAT_L1_HIT) + <u64>load<u32>(latencyBase + LAT_STLB_HIT);
  const refCycles = <u64>load<u32>(latencyBase + LAT_WALK_MEM_REF);
  const cr3 = load<u64>(fCpu + CPU_CR3);
  const pcid = fPcid, ctr = fCtr, l2 = fL2, l1 = fD;
  const want = (cpu << 16) | (REC_USER << 8);
  let r = traceBase + (<usize>i << 4);
  const rEnd = traceBase + (<usize>end << 4);
  let tick = fTick;
  let accesses: u64 = 0;
  let walks: u32 = 0;
  let done4k: u64 = 0, done2m: u64 = 0, refs: u64 = 0, trans: u64 = 0;
  let activeLoads: u64 = 0, activeStores: u64 = 0;   // (cached) walk_active cycles per kind
  let splinters: u32 = 0;   // 2 MiB splinters filled into both arrays, not yet in their D_SPLINTERS
  let hand: u32 = 0;   // HAND_AHEAD or HAND_DECLINED: the run ends handing its current record on
  const latAd = <u64>load<u32>(latencyBase + LAT_AD_UPDATE);
  // The fills note no tag (arrayFillPairAt): hitLoop claimed both arrays for pcid (fastRun's
  // hitClaim before hitRun, and again after each hitMissFn), this loop fills only pcid's entries,
  // and it ends at a decline, whose fault policy may flush.
  while (true) {
    const j = <u32>((r - traceBase) >> 4);
    const va = load<u64>(r);
    const k = <u32>load<u8>(r, 9) & 1;   // REC_WRITE (hitLoop took only reads and writes)
    // The look-ahead's case: fastMiss, which reads ahead, then walks.
    if (aheadDue(j)) { hand = HAND_AHEAD; break; }
    lastMiss = j;
    const t = tick + 1;
    // The fills' ways first: their stamp lines load while the walk waits on its entries.
    const page = va >> 12;
    const x2 = victimShaped(keys2, page, sets2, w2), x1 = victimShaped(keys1, page, sets1, w1);
    const w = walkAndFillUserUncounted(cr3, va, k != 0, pcid, t, refCycles, l2, l1, ctr, cached, cpu, x2, x1);
    // Declined (a fault, a 1 GiB page, …): handed on at the same tick, as fastMiss hands it on.
    if (w == 0) { hand = HAND_DECLINED; break; }
    tick = t;
    const one = <u64>1 << (<u64>k * PACK);
    accesses += one;
    // walkAndFillUser's counts (the same packing: PACK is access.ts's MISS_PACK).
    const n = w & WALK_USER_READ;
    if (n == 3) { done2m += one; splinters++; } else done4k += one;
    refs += <u64>n;
    let walkCycles = <u64>n * refCycles;
    if (cached) {
      walkCycles = walkUserRefCycles;
      if (k != 0) activeStores += walkCycles; else activeLoads += walkCycles;
    }
    trans += translation + walkCycles + ((w & WALK_USER_AD) != 0 ? latAd : 0);
    walks++;
    r += 16;
    if (r >= rEnd) break;
    // The next record: one hitLoop takes (its tests) that misses both arrays, else back to hitLoop.
    const nva = load<u64>(r);
    const vpn = nva >> 12;
    const meta = load<u32>(r, 8);
    if (!hitKindOk(meta, want)) break;
    if (!hitOnePage(meta, nva)) break;
    if (setKeyHits(keys1 + (<usize>((<u32>vpn & mask1) * w1) << 2), <u32>(vpn >> shift1), w1) != 0) break;
    if (setKeyHits(keys2 + (<usize>((<u32>vpn & mask2) * w2) << 2), <u32>(vpn >> shift2), w2) != 0) break;
  }
  // The run's counts first: a hand-over's fault policy may flush (reading D_SPLINTERS), and the
  // hand-over counts its record itself from fTick.
  addSplinters(l2, l1, splinters);
  fTick = tick;
  fAccesses += accesses;
  if (walks != 0) {
    addMissCounts(done4k, done2m, refs, trans, walks);
    if (cached) addMissActive(activeLoads, activeStores);
  }
  missRunWalks += walks;
  if (hand != 0) {
    const j = <u32>((r - traceBase) >> 4);
    const s = hand == HAND_AHEAD ? fastMissFn(j, cpu) : declined(j, cpu);
    if (s != XLAT_OK) fFault = s; else r += 16;
  }
  return <u32>((r - traceBase) >> 4);
}

/** missLoop's hand-overs of its current record: to fastMiss (the look-ahead's), or a decline's. */
@inline const HAND_AHEAD: u32 = 1;
@inline const HAND_DECLINED: u32 = 2;

/**
 * Add `n` splinters (entries smaller than their page) to the counts of arrays `l2` and `l1`, which
 * missRun's fills (arrayFillPairAt) leave to it: at the run's end, before its hand-over (to
 * fastMiss or on a decline) runs anything that may read them (a flush's skip, tlbarray.ts).
 */
@inline function addSplinters(l2: usize, l1: usize, n: u32): void {
  store<u32>(l2 + D_SPLINTERS, load<u32>(l2 + D_SPLINTERS) + n);
  store<u32>(l1 + D_SPLINTERS, load<u32>(l1 + D_SPLINTERS) + n);
}

/** Walks missRun completed itself (modulo 2^32). */
let missRunWalks: u32 = 0;

/**
 * How many walks the replay's run of misses (missRun) has completed in its own loop since the core
 * started, modulo 2^32: a diagnostic for tests and benchmarks (the model's counters are the same
 * either way), as walkUserCount is.
 */
export function missRunCount(): u32 {
  return missRunWalks;
}
